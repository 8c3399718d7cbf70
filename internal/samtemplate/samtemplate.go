// Package samtemplate reads the AWS SAM template the way CloudFormation
// would, enough for tests to check what it wires: resources, function
// environments and properties, with intrinsic functions resolved.
//
// It owns three steps of a deployment, done offline: reading CloudFormation
// YAML (short-form tags such as !Ref become their long form, {"Ref": ...}),
// merging SAM's Globals into each function as the SAM transform does, and
// evaluating intrinsic functions. What only exists once a stack is deployed
// (resource ids and attributes, the account, the region) resolves to fixed
// placeholders, so a test can tell what is wired to what. It deploys
// nothing and knows no resource type's schema.
package samtemplate

import (
	"errors"
	"fmt"
	"maps"
	"os"
	"regexp"
	"slices"
	"strings"

	"gopkg.in/yaml.v3"
)

// Template is a parsed CloudFormation template. Values hold the template's
// data as YAML gave it: map[string]any, []any, string, int, float64, bool
// and nil, with intrinsic functions in their long form.
type Template struct {
	Parameters map[string]Parameter
	Mappings   map[string]any
	// Conditions are the raw condition expressions, by name; see
	// [Template.Condition] for their values.
	Conditions map[string]any
	// Globals is SAM's Globals section, as written; [Template.Functions]
	// applies it.
	Globals map[string]any
	// Rules are the raw parameter rules, by name, as written: what
	// CloudFormation checks of the parameters before it changes anything.
	Rules     map[string]any
	Resources map[string]Resource
	Outputs   map[string]Output

	// implicit holds the resources the SAM transform adds, by logical id,
	// so that references to them (ServerlessHttpApi...) resolve.
	implicit map[string]string
}

// Parameter is a template parameter.
type Parameter struct {
	Type string
	// Default is the default value as text, since CloudFormation passes
	// every parameter on as a string: a Number's default 10 is "10".
	Default string
	// HasDefault tells an empty Default from none at all; a parameter
	// without one needs a value in ResolveOptions.Parameters.
	HasDefault    bool
	AllowedValues []string
	// AllowedPattern is the regular expression the whole value must
	// match; "" for any.
	AllowedPattern string
	Description    string
}

// Resource is a template resource.
type Resource struct {
	Type                string
	Properties          map[string]any
	DeletionPolicy      string
	UpdateReplacePolicy string
	Metadata            map[string]any
	// Condition names the condition the resource is created under; "" for
	// always.
	Condition string
}

// Output is a template output.
type Output struct {
	Description string
	Value       any
	Export      map[string]any
	Condition   string
}

// functionType is the resource type [Template.Functions] reports.
const functionType = "AWS::Serverless::Function"

// Load reads and parses the template at path.
func Load(path string) (*Template, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("load template: %w", err)
	}
	t, err := Parse(data)
	if err != nil {
		return nil, fmt.Errorf("load template %s: %w", path, err)
	}
	return t, nil
}

// Parse parses a template from YAML. It checks the template's structure
// (sections are mappings, resources have a type...) but not its
// references; those are checked when resolved.
func Parse(data []byte) (*Template, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("parse YAML: %w", err)
	}
	if doc.Kind != yaml.DocumentNode || len(doc.Content) == 0 {
		return nil, errors.New("empty template")
	}
	v, err := decode(doc.Content[0])
	if err != nil {
		return nil, err
	}
	top, ok := v.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("template is %s, want a mapping", describe(v))
	}
	return newTemplate(top)
}

// shortForms maps each CloudFormation short-form tag to the key of its
// long form.
var shortForms = map[string]string{
	"!Ref":         "Ref",
	"!Condition":   "Condition",
	"!GetAtt":      "Fn::GetAtt",
	"!Sub":         "Fn::Sub",
	"!If":          "Fn::If",
	"!Not":         "Fn::Not",
	"!Equals":      "Fn::Equals",
	"!And":         "Fn::And",
	"!Or":          "Fn::Or",
	"!Join":        "Fn::Join",
	"!Select":      "Fn::Select",
	"!Split":       "Fn::Split",
	"!FindInMap":   "Fn::FindInMap",
	"!Base64":      "Fn::Base64",
	"!Cidr":        "Fn::Cidr",
	"!GetAZs":      "Fn::GetAZs",
	"!ImportValue": "Fn::ImportValue",
}

// decode turns a YAML node into plain Go values, short-form tags into their
// long form.
func decode(n *yaml.Node) (any, error) {
	if n.Kind == yaml.AliasNode {
		// CloudFormation rejects aliases; accepting them here would let a
		// template pass tests and fail to deploy.
		return nil, fmt.Errorf("line %d: YAML aliases are not allowed in CloudFormation templates", n.Line)
	}
	tag := n.ShortTag()
	if key, ok := shortForms[tag]; ok {
		return decodeShortForm(key, n)
	}
	if !strings.HasPrefix(tag, "!!") {
		return nil, fmt.Errorf("line %d: unknown tag %s", n.Line, tag)
	}
	switch n.Kind {
	case yaml.MappingNode:
		return decodeMapping(n)
	case yaml.SequenceNode:
		return decodeSequence(n)
	case yaml.ScalarNode:
		return decodeScalar(n, tag)
	}
	return nil, fmt.Errorf("line %d: unexpected YAML node kind %v", n.Line, n.Kind)
}

// decodeShortForm decodes a node tagged with a short-form tag as the long
// form {key: argument}.
func decodeShortForm(key string, n *yaml.Node) (any, error) {
	var arg any
	switch n.Kind {
	case yaml.ScalarNode:
		// A tagged scalar is the function's literal text argument.
		arg = n.Value
		if key == "Fn::GetAtt" {
			// Attribute names may hold dots (Endpoint.Address), so
			// CloudFormation splits at the first one only.
			id, attr, ok := strings.Cut(n.Value, ".")
			if !ok || id == "" || attr == "" {
				return nil, fmt.Errorf("line %d: !GetAtt %q: want LogicalId.Attribute", n.Line, n.Value)
			}
			arg = []any{id, attr}
		}
	case yaml.SequenceNode:
		seq, err := decodeSequence(n)
		if err != nil {
			return nil, err
		}
		arg = seq
	case yaml.MappingNode:
		m, err := decodeMapping(n)
		if err != nil {
			return nil, err
		}
		arg = m
	default:
		return nil, fmt.Errorf("line %d: unexpected YAML node kind %v for %s", n.Line, n.Kind, n.Tag)
	}
	return map[string]any{key: arg}, nil
}

func decodeMapping(n *yaml.Node) (map[string]any, error) {
	m := make(map[string]any, len(n.Content)/2)
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if k.Kind != yaml.ScalarNode || !strings.HasPrefix(k.ShortTag(), "!!") {
			return nil, fmt.Errorf("line %d: mapping key must be plain text", k.Line)
		}
		// yaml.v3 only reports duplicate keys when decoding into a map,
		// not into a Node, and CloudFormation rejects them.
		if _, dup := m[k.Value]; dup {
			return nil, fmt.Errorf("line %d: duplicate key %q", k.Line, k.Value)
		}
		x, err := decode(v)
		if err != nil {
			return nil, err
		}
		m[k.Value] = x
	}
	return m, nil
}

func decodeSequence(n *yaml.Node) ([]any, error) {
	s := make([]any, 0, len(n.Content))
	for _, c := range n.Content {
		x, err := decode(c)
		if err != nil {
			return nil, err
		}
		s = append(s, x)
	}
	return s, nil
}

func decodeScalar(n *yaml.Node, tag string) (any, error) {
	switch tag {
	case "!!null":
		return nil, nil
	case "!!bool", "!!int", "!!float":
		var v any
		if err := n.Decode(&v); err != nil {
			return nil, fmt.Errorf("line %d: %w", n.Line, err)
		}
		return v, nil
	}
	// Strings, and what CloudFormation reads as strings: an unquoted
	// 2010-09-09 is a YAML timestamp but a template version to it.
	return n.Value, nil
}

func newTemplate(top map[string]any) (*Template, error) {
	t := &Template{
		Parameters: make(map[string]Parameter),
		Resources:  make(map[string]Resource),
		Outputs:    make(map[string]Output),
	}
	var err error
	if t.Mappings, err = section(top, "Mappings"); err != nil {
		return nil, err
	}
	if t.Conditions, err = section(top, "Conditions"); err != nil {
		return nil, err
	}
	if t.Globals, err = section(top, "Globals"); err != nil {
		return nil, err
	}
	if t.Rules, err = section(top, "Rules"); err != nil {
		return nil, err
	}

	params, err := section(top, "Parameters")
	if err != nil {
		return nil, err
	}
	for _, name := range slices.Sorted(maps.Keys(params)) {
		p, err := parseParameter(params[name])
		if err != nil {
			return nil, fmt.Errorf("parameter %s: %w", name, err)
		}
		t.Parameters[name] = p
	}

	if _, ok := top["Resources"]; !ok {
		return nil, errors.New("template has no Resources")
	}
	resources, err := section(top, "Resources")
	if err != nil {
		return nil, err
	}
	for _, id := range slices.Sorted(maps.Keys(resources)) {
		r, err := parseResource(resources[id])
		if err != nil {
			return nil, fmt.Errorf("resource %s: %w", id, err)
		}
		t.Resources[id] = r
	}

	outputs, err := section(top, "Outputs")
	if err != nil {
		return nil, err
	}
	for _, name := range slices.Sorted(maps.Keys(outputs)) {
		o, err := parseOutput(outputs[name])
		if err != nil {
			return nil, fmt.Errorf("output %s: %w", name, err)
		}
		t.Outputs[name] = o
	}

	t.implicit = implicitResources(t.Resources)
	return t, nil
}

// section returns the mapping under key, empty if the key is absent.
func section(m map[string]any, key string) (map[string]any, error) {
	v, ok := m[key]
	if !ok || v == nil {
		return map[string]any{}, nil
	}
	s, ok := v.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("%s is %s, want a mapping", key, describe(v))
	}
	return s, nil
}

// text returns the string under key, "" if the key is absent.
func text(m map[string]any, key string) (string, error) {
	v, ok := m[key]
	if !ok || v == nil {
		return "", nil
	}
	s, ok := v.(string)
	if !ok {
		return "", fmt.Errorf("%s is %s, want text", key, describe(v))
	}
	return s, nil
}

func parseParameter(v any) (Parameter, error) {
	m, ok := v.(map[string]any)
	if !ok {
		return Parameter{}, fmt.Errorf("is %s, want a mapping", describe(v))
	}
	var p Parameter
	var err error
	if p.Type, err = text(m, "Type"); err != nil {
		return Parameter{}, err
	}
	if p.Type == "" {
		return Parameter{}, errors.New("no Type")
	}
	if p.Description, err = text(m, "Description"); err != nil {
		return Parameter{}, err
	}
	if p.AllowedPattern, err = text(m, "AllowedPattern"); err != nil {
		return Parameter{}, err
	}
	if _, err := p.Pattern(); err != nil {
		return Parameter{}, err
	}
	if d, ok := m["Default"]; ok {
		if p.Default, err = Stringify(d); err != nil {
			return Parameter{}, fmt.Errorf("its default: %w", err)
		}
		p.HasDefault = true
	}
	if av, ok := m["AllowedValues"]; ok {
		list, ok := av.([]any)
		if !ok {
			return Parameter{}, fmt.Errorf("AllowedValues is %s, want a list", describe(av))
		}
		for i, x := range list {
			s, err := Stringify(x)
			if err != nil {
				return Parameter{}, fmt.Errorf("AllowedValues[%d]: %w", i, err)
			}
			p.AllowedValues = append(p.AllowedValues, s)
		}
	}
	return p, nil
}

// Pattern is AllowedPattern as CloudFormation applies it, to the whole
// value; nil for none. (CloudFormation's regular expressions are Java's;
// the simple ones a template uses mean the same in Go.)
func (p Parameter) Pattern() (*regexp.Regexp, error) {
	if p.AllowedPattern == "" {
		return nil, nil
	}
	re, err := regexp.Compile(`^(?:` + p.AllowedPattern + `)$`)
	if err != nil {
		return nil, fmt.Errorf("AllowedPattern: %w", err)
	}
	return re, nil
}

func parseResource(v any) (Resource, error) {
	m, ok := v.(map[string]any)
	if !ok {
		return Resource{}, fmt.Errorf("is %s, want a mapping", describe(v))
	}
	var r Resource
	var err error
	if r.Type, err = text(m, "Type"); err != nil {
		return Resource{}, err
	}
	if r.Type == "" {
		return Resource{}, errors.New("no Type")
	}
	if r.Properties, err = section(m, "Properties"); err != nil {
		return Resource{}, err
	}
	if r.Metadata, err = section(m, "Metadata"); err != nil {
		return Resource{}, err
	}
	if r.DeletionPolicy, err = text(m, "DeletionPolicy"); err != nil {
		return Resource{}, err
	}
	if r.UpdateReplacePolicy, err = text(m, "UpdateReplacePolicy"); err != nil {
		return Resource{}, err
	}
	if r.Condition, err = text(m, "Condition"); err != nil {
		return Resource{}, err
	}
	return r, nil
}

func parseOutput(v any) (Output, error) {
	m, ok := v.(map[string]any)
	if !ok {
		return Output{}, fmt.Errorf("is %s, want a mapping", describe(v))
	}
	o := Output{Value: m["Value"]}
	if _, ok := m["Value"]; !ok {
		return Output{}, errors.New("no Value")
	}
	var err error
	if o.Description, err = text(m, "Description"); err != nil {
		return Output{}, err
	}
	if o.Condition, err = text(m, "Condition"); err != nil {
		return Output{}, err
	}
	if _, ok := m["Export"]; ok {
		if o.Export, err = section(m, "Export"); err != nil {
			return Output{}, err
		}
	}
	return o, nil
}

// implicitResources returns the resources the SAM transform generates that
// a template may refer to: a function's execution role unless it names
// one, and the implicit REST and HTTP APIs that Api and HttpApi events
// without an explicit API create.
func implicitResources(resources map[string]Resource) map[string]string {
	implicit := make(map[string]string)
	for id, r := range resources {
		if r.Type != functionType {
			continue
		}
		if _, ok := r.Properties["Role"]; !ok {
			implicit[id+"Role"] = "AWS::IAM::Role"
		}
		events, _ := r.Properties["Events"].(map[string]any)
		for _, v := range events {
			event, _ := v.(map[string]any)
			props, _ := event["Properties"].(map[string]any)
			switch event["Type"] {
			case "Api":
				if _, ok := props["RestApiId"]; !ok {
					implicit["ServerlessRestApi"] = "AWS::ApiGateway::RestApi"
				}
			case "HttpApi":
				if _, ok := props["ApiId"]; !ok {
					implicit["ServerlessHttpApi"] = "AWS::ApiGatewayV2::Api"
				}
			}
		}
	}
	return implicit
}

// describe names v's kind for error messages.
func describe(v any) string {
	switch v := v.(type) {
	case nil:
		return "null"
	case noValue:
		return "AWS::NoValue"
	case map[string]any:
		if name, _, ok := intrinsic(v); ok {
			return "an unresolved " + name
		}
		return "a mapping"
	case []any:
		return "a list"
	case string:
		return fmt.Sprintf("text %q", v)
	}
	return fmt.Sprintf("%T %v", v, v)
}
