package samtemplate

import (
	"encoding/base64"
	"errors"
	"fmt"
	"maps"
	"reflect"
	"slices"
	"strconv"
	"strings"
)

// ErrUnknownReference is wrapped by the errors of references to a
// parameter, resource, condition or function the template does not have.
var ErrUnknownReference = errors.New("unknown reference")

// ResolveOptions are the inputs of a deployment that a template's values
// depend on.
//
// Pseudo parameters take fixed values: AWS::StackName "stack", AWS::Region
// "us-east-1", AWS::AccountId "123456789012", AWS::Partition "aws",
// AWS::URLSuffix "amazonaws.com". A Ref to a resource resolves to
// "ref:<LogicalId>" and Fn::GetAtt to "getatt:<LogicalId>.<Attribute>":
// non-empty, as the real ids are, and naming what they point at.
type ResolveOptions struct {
	// Parameters overrides parameter values by name, as
	// `sam deploy --parameter-overrides` does; the others take their
	// Default.
	Parameters map[string]string
}

// noValue is what a Ref to AWS::NoValue resolves to: the mapping key or
// list element holding it is dropped, as if never written.
type noValue struct{}

// pseudoParameters are the values of CloudFormation's pseudo parameters.
var pseudoParameters = map[string]any{
	"AWS::AccountId":        "123456789012",
	"AWS::NoValue":          noValue{},
	"AWS::NotificationARNs": []any{},
	"AWS::Partition":        "aws",
	"AWS::Region":           "us-east-1",
	"AWS::StackId":          "arn:aws:cloudformation:us-east-1:123456789012:stack/stack/00000000-0000-0000-0000-000000000000",
	"AWS::StackName":        "stack",
	"AWS::URLSuffix":        "amazonaws.com",
}

// Resolve returns v with every intrinsic function in it evaluated, as
// CloudFormation would on deploying with opts. v is typically a value from
// the template, such as a resource's Properties; it is not modified.
// Keys and list elements that resolve to AWS::NoValue are dropped; if v
// itself does, Resolve returns nil.
//
// Like CloudFormation, Resolve checks that every parameter has a value
// (allowed, and numeric for a Number) and that opts names no parameter the
// template lacks, and it reports references to unknown names, even in the
// branch of an Fn::If that is not taken.
func (t *Template) Resolve(v any, opts ResolveOptions) (any, error) {
	r, err := t.newResolver(opts)
	if err != nil {
		return nil, err
	}
	out, err := r.resolve(v)
	if err != nil {
		return nil, err
	}
	if _, ok := out.(noValue); ok {
		return nil, nil
	}
	return out, nil
}

// Condition reports the value of the named condition when deploying with
// opts.
func (t *Template) Condition(name string, opts ResolveOptions) (bool, error) {
	r, err := t.newResolver(opts)
	if err != nil {
		return false, err
	}
	return r.condition(name)
}

// resolver evaluates intrinsic functions for one set of parameter values.
type resolver struct {
	t      *Template
	params map[string]any // every parameter's value, as a Ref gives it
	conds  map[string]bool
	// evaluating holds the conditions being evaluated, to report a
	// condition that depends on itself instead of recursing forever.
	evaluating map[string]bool
}

func (t *Template) newResolver(opts ResolveOptions) (*resolver, error) {
	for _, name := range slices.Sorted(maps.Keys(opts.Parameters)) {
		if _, ok := t.Parameters[name]; !ok {
			return nil, fmt.Errorf("parameter override %s: %w", name, ErrUnknownReference)
		}
	}
	r := &resolver{
		t:          t,
		params:     make(map[string]any, len(t.Parameters)),
		conds:      make(map[string]bool),
		evaluating: make(map[string]bool),
	}
	for _, name := range slices.Sorted(maps.Keys(t.Parameters)) {
		p := t.Parameters[name]
		v, ok := opts.Parameters[name]
		if !ok {
			if !p.HasDefault {
				return nil, fmt.Errorf("parameter %s: no value given and no Default", name)
			}
			v = p.Default
		}
		if len(p.AllowedValues) > 0 && !slices.Contains(p.AllowedValues, v) {
			return nil, fmt.Errorf("parameter %s: %q is not one of the AllowedValues %q", name, v, p.AllowedValues)
		}
		if re, _ := p.Pattern(); re != nil && !re.MatchString(v) {
			return nil, fmt.Errorf("parameter %s: %q does not match the AllowedPattern %s", name, v, p.AllowedPattern)
		}
		if p.Type == "Number" {
			if _, err := strconv.ParseFloat(v, 64); err != nil {
				return nil, fmt.Errorf("parameter %s: %q is not a Number", name, v)
			}
		}
		r.params[name] = parameterValue(p.Type, v)
	}
	return r, nil
}

// parameterValue is what a Ref to a parameter of type typ holding v gives:
// list types give a list, everything else, numbers included, the text.
func parameterValue(typ, v string) any {
	if typ != "CommaDelimitedList" && !strings.HasPrefix(typ, "List<") {
		return v
	}
	var list []any
	for _, s := range strings.Split(v, ",") {
		list = append(list, s)
	}
	return list
}

// intrinsic reports whether m is an intrinsic function call, {"Ref": x}
// or {"Fn::Name": x}, and returns its name and argument.
func intrinsic(m map[string]any) (name string, arg any, ok bool) {
	if len(m) != 1 {
		return "", nil, false
	}
	for k, v := range m {
		if k == "Ref" || strings.HasPrefix(k, "Fn::") {
			return k, v, true
		}
	}
	return "", nil, false
}

func (r *resolver) resolve(v any) (any, error) {
	switch v := v.(type) {
	case map[string]any:
		if name, arg, ok := intrinsic(v); ok {
			out, err := r.call(name, arg)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", name, err)
			}
			return out, nil
		}
		out := make(map[string]any, len(v))
		for _, k := range slices.Sorted(maps.Keys(v)) {
			x, err := r.resolve(v[k])
			if err != nil {
				return nil, fmt.Errorf("%s: %w", k, err)
			}
			if _, ok := x.(noValue); !ok {
				out[k] = x
			}
		}
		return out, nil
	case []any:
		out := make([]any, 0, len(v))
		for i, x := range v {
			y, err := r.resolve(x)
			if err != nil {
				return nil, fmt.Errorf("[%d]: %w", i, err)
			}
			if _, ok := y.(noValue); !ok {
				out = append(out, y)
			}
		}
		return out, nil
	}
	return v, nil
}

// call evaluates the intrinsic function name with argument arg.
func (r *resolver) call(name string, arg any) (any, error) {
	switch name {
	case "Ref":
		id, ok := arg.(string)
		if !ok {
			return nil, fmt.Errorf("argument is %s, want a name", describe(arg))
		}
		return r.ref(id)
	case "Fn::GetAtt":
		return r.getAtt(arg)
	case "Fn::Sub":
		return r.sub(arg)
	case "Fn::If":
		return r.ifThen(arg)
	case "Fn::Equals", "Fn::Not", "Fn::And", "Fn::Or":
		return r.eval(map[string]any{name: arg})
	case "Fn::Join":
		return r.join(arg)
	case "Fn::Select":
		return r.selectItem(arg)
	case "Fn::Split":
		return r.split(arg)
	case "Fn::FindInMap":
		return r.findInMap(arg)
	case "Fn::Base64":
		s, err := r.text(arg)
		if err != nil {
			return nil, err
		}
		return base64.StdEncoding.EncodeToString([]byte(s)), nil
	case "Fn::GetAZs":
		region, err := r.text(arg)
		if err != nil {
			return nil, err
		}
		if region == "" {
			region = pseudoParameters["AWS::Region"].(string)
		}
		return []any{region + "a", region + "b", region + "c"}, nil
	case "Fn::ImportValue":
		s, err := r.text(arg)
		if err != nil {
			return nil, err
		}
		// Another stack's export: a placeholder naming it, as for a Ref.
		return "import:" + s, nil
	}
	return nil, errors.New("not supported")
}

// ref returns what a Ref to name gives.
func (r *resolver) ref(name string) (any, error) {
	if v, ok := pseudoParameters[name]; ok {
		return v, nil
	}
	if v, ok := r.params[name]; ok {
		return v, nil
	}
	if err := r.resource(name); err != nil {
		return nil, err
	}
	return "ref:" + name, nil
}

// resource checks that the resource id exists in a deployment with r's
// parameters: a reference to a resource whose condition is false fails
// the deployment.
func (r *resolver) resource(id string) error {
	if _, ok := r.t.implicit[id]; ok {
		return nil
	}
	res, ok := r.t.Resources[id]
	if !ok {
		return fmt.Errorf("%s: %w", id, ErrUnknownReference)
	}
	if res.Condition == "" {
		return nil
	}
	created, err := r.condition(res.Condition)
	if err != nil {
		return fmt.Errorf("%s: %w", id, err)
	}
	if !created {
		return fmt.Errorf("%s is not created: its condition %s is false", id, res.Condition)
	}
	return nil
}

func (r *resolver) getAtt(arg any) (any, error) {
	id, attr, err := getAttArgs(arg)
	if err != nil {
		return nil, err
	}
	// The attribute name may itself be a Ref to a parameter.
	name, err := r.text(attr)
	if err != nil {
		return nil, err
	}
	if err := r.resource(id); err != nil {
		return nil, err
	}
	return "getatt:" + id + "." + name, nil
}

// getAttArgs splits Fn::GetAtt's argument, [LogicalId, Attribute] or
// "LogicalId.Attribute", into the resource id and the attribute.
func getAttArgs(arg any) (id string, attr any, err error) {
	switch a := arg.(type) {
	case string:
		id, attr, ok := strings.Cut(a, ".")
		if ok {
			return id, attr, nil
		}
	case []any:
		if len(a) == 2 {
			if id, ok := a[0].(string); ok {
				return id, a[1], nil
			}
		}
	}
	return "", nil, fmt.Errorf("argument is %s, want [LogicalId, Attribute]", describe(arg))
}

func (r *resolver) sub(arg any) (any, error) {
	text, vars, err := subArgs(arg)
	if err != nil {
		return nil, err
	}
	values := make(map[string]string, len(vars))
	for _, name := range slices.Sorted(maps.Keys(vars)) {
		s, err := r.text(vars[name])
		if err != nil {
			return nil, fmt.Errorf("variable %s: %w", name, err)
		}
		values[name] = s
	}
	return substitute(text, func(name string) (string, error) {
		if s, ok := values[name]; ok {
			return s, nil
		}
		var v any
		var err error
		if _, pseudo := pseudoParameters[name]; !pseudo && strings.Contains(name, ".") {
			v, err = r.getAtt(name)
		} else {
			v, err = r.ref(name)
		}
		if err != nil {
			return "", err
		}
		return Stringify(v)
	})
}

// subArgs splits Fn::Sub's argument, "text" or ["text", {variables}].
func subArgs(arg any) (text string, vars map[string]any, err error) {
	switch a := arg.(type) {
	case string:
		return a, nil, nil
	case []any:
		if len(a) == 2 {
			text, ok1 := a[0].(string)
			vars, ok2 := a[1].(map[string]any)
			if ok1 && ok2 {
				return text, vars, nil
			}
		}
	}
	return "", nil, fmt.Errorf("argument is %s, want text or [text, {variables}]", describe(arg))
}

// substitute replaces each ${name} in text with value(name), and each
// ${!literal} with ${literal}.
func substitute(text string, value func(name string) (string, error)) (string, error) {
	var b strings.Builder
	for {
		i := strings.Index(text, "${")
		if i < 0 {
			b.WriteString(text)
			return b.String(), nil
		}
		b.WriteString(text[:i])
		text = text[i+2:]
		if strings.HasPrefix(text, "!") {
			b.WriteString("${")
			text = text[1:]
			continue
		}
		name, rest, ok := strings.Cut(text, "}")
		if !ok {
			return "", fmt.Errorf("unterminated ${ in %q", text)
		}
		s, err := value(name)
		if err != nil {
			return "", fmt.Errorf("${%s}: %w", name, err)
		}
		b.WriteString(s)
		text = rest
	}
}

func (r *resolver) ifThen(arg any) (any, error) {
	a, ok := arg.([]any)
	if !ok || len(a) != 3 {
		return nil, fmt.Errorf("argument is %s, want [Condition, ValueIfTrue, ValueIfFalse]", describe(arg))
	}
	name, ok := a[0].(string)
	if !ok {
		return nil, fmt.Errorf("condition is %s, want a name", describe(a[0]))
	}
	holds, err := r.condition(name)
	if err != nil {
		return nil, err
	}
	taken, other := a[1], a[2]
	if !holds {
		taken, other = other, taken
	}
	// CloudFormation evaluates only the branch taken but validates the
	// names in both: a typo in the other must fail here too.
	if err := r.check(other); err != nil {
		return nil, err
	}
	return r.resolve(taken)
}

// condition returns the value of the named condition.
func (r *resolver) condition(name string) (bool, error) {
	if v, ok := r.conds[name]; ok {
		return v, nil
	}
	expr, ok := r.t.Conditions[name]
	if !ok {
		return false, fmt.Errorf("condition %s: %w", name, ErrUnknownReference)
	}
	if r.evaluating[name] {
		return false, fmt.Errorf("condition %s depends on itself", name)
	}
	r.evaluating[name] = true
	defer delete(r.evaluating, name)
	v, err := r.eval(expr)
	if err != nil {
		return false, fmt.Errorf("condition %s: %w", name, err)
	}
	r.conds[name] = v
	return v, nil
}

// eval evaluates a condition function: Fn::Equals, Fn::Not, Fn::And,
// Fn::Or or {"Condition": name}.
func (r *resolver) eval(expr any) (bool, error) {
	m, _ := expr.(map[string]any)
	if len(m) != 1 {
		return false, fmt.Errorf("%s is not a condition function", describe(expr))
	}
	var name string
	var arg any
	for name, arg = range m {
	}
	if name == "Condition" {
		id, ok := arg.(string)
		if !ok {
			return false, fmt.Errorf("Condition: argument is %s, want a name", describe(arg))
		}
		return r.condition(id)
	}
	args, ok := arg.([]any)
	if !ok {
		return false, fmt.Errorf("%s: argument is %s, want a list", name, describe(arg))
	}
	v, err := r.evalFunc(name, args)
	if err != nil {
		return false, fmt.Errorf("%s: %w", name, err)
	}
	return v, nil
}

func (r *resolver) evalFunc(name string, args []any) (bool, error) {
	switch name {
	case "Fn::Equals":
		if len(args) != 2 {
			return false, fmt.Errorf("want 2 values, got %d", len(args))
		}
		a, err := r.resolve(args[0])
		if err != nil {
			return false, err
		}
		b, err := r.resolve(args[1])
		if err != nil {
			return false, err
		}
		// Parameters are text to CloudFormation, so a Number parameter
		// equals the number written as a literal.
		as, aErr := Stringify(a)
		bs, bErr := Stringify(b)
		if aErr == nil && bErr == nil {
			return as == bs, nil
		}
		return reflect.DeepEqual(a, b), nil
	case "Fn::Not":
		if len(args) != 1 {
			return false, fmt.Errorf("want 1 condition, got %d", len(args))
		}
		v, err := r.eval(args[0])
		return !v, err
	case "Fn::And", "Fn::Or":
		if len(args) < 2 || len(args) > 10 {
			return false, fmt.Errorf("want 2 to 10 conditions, got %d", len(args))
		}
		and := name == "Fn::And"
		for _, c := range args {
			v, err := r.eval(c)
			if err != nil {
				return false, err
			}
			if v != and {
				return v, nil
			}
		}
		return and, nil
	}
	return false, errors.New("not a condition function")
}

func (r *resolver) join(arg any) (any, error) {
	a, ok := arg.([]any)
	if !ok || len(a) != 2 {
		return nil, fmt.Errorf("argument is %s, want [delimiter, [values]]", describe(arg))
	}
	delim, err := r.text(a[0])
	if err != nil {
		return nil, err
	}
	list, err := r.list(a[1])
	if err != nil {
		return nil, err
	}
	parts := make([]string, len(list))
	for i, x := range list {
		if parts[i], err = Stringify(x); err != nil {
			return nil, fmt.Errorf("[%d]: %w", i, err)
		}
	}
	return strings.Join(parts, delim), nil
}

func (r *resolver) selectItem(arg any) (any, error) {
	a, ok := arg.([]any)
	if !ok || len(a) != 2 {
		return nil, fmt.Errorf("argument is %s, want [index, [values]]", describe(arg))
	}
	s, err := r.text(a[0])
	if err != nil {
		return nil, err
	}
	i, err := strconv.Atoi(s)
	if err != nil {
		return nil, fmt.Errorf("index %q is not an integer", s)
	}
	list, err := r.list(a[1])
	if err != nil {
		return nil, err
	}
	if i < 0 || i >= len(list) {
		return nil, fmt.Errorf("index %d out of range for %d values", i, len(list))
	}
	return list[i], nil
}

func (r *resolver) split(arg any) (any, error) {
	a, ok := arg.([]any)
	if !ok || len(a) != 2 {
		return nil, fmt.Errorf("argument is %s, want [delimiter, text]", describe(arg))
	}
	delim, err := r.text(a[0])
	if err != nil {
		return nil, err
	}
	s, err := r.text(a[1])
	if err != nil {
		return nil, err
	}
	var out []any
	for _, part := range strings.Split(s, delim) {
		out = append(out, part)
	}
	return out, nil
}

func (r *resolver) findInMap(arg any) (any, error) {
	a, ok := arg.([]any)
	if !ok || len(a) != 3 {
		return nil, fmt.Errorf("argument is %s, want [MapName, TopLevelKey, SecondLevelKey]", describe(arg))
	}
	var keys [3]string
	for i := range keys {
		var err error
		if keys[i], err = r.text(a[i]); err != nil {
			return nil, err
		}
	}
	var v any = r.t.Mappings
	for _, k := range keys {
		m, _ := v.(map[string]any)
		if v, ok = m[k]; !ok {
			return nil, fmt.Errorf("%s: %w", strings.Join(keys[:], "."), ErrUnknownReference)
		}
	}
	return r.resolve(v)
}

// text resolves v and returns it as text.
func (r *resolver) text(v any) (string, error) {
	x, err := r.resolve(v)
	if err != nil {
		return "", err
	}
	return Stringify(x)
}

// list resolves v and returns it as a list.
func (r *resolver) list(v any) ([]any, error) {
	x, err := r.resolve(v)
	if err != nil {
		return nil, err
	}
	list, ok := x.([]any)
	if !ok {
		return nil, fmt.Errorf("%s is not a list", describe(x))
	}
	return list, nil
}

// check reports references in v to names the template does not have,
// without evaluating anything.
func (r *resolver) check(v any) error {
	switch v := v.(type) {
	case map[string]any:
		if name, arg, ok := intrinsic(v); ok {
			if err := r.checkCall(name, arg); err != nil {
				return fmt.Errorf("%s: %w", name, err)
			}
		}
		for _, k := range slices.Sorted(maps.Keys(v)) {
			if err := r.check(v[k]); err != nil {
				return err
			}
		}
	case []any:
		for _, x := range v {
			if err := r.check(x); err != nil {
				return err
			}
		}
	}
	return nil
}

func (r *resolver) checkCall(name string, arg any) error {
	switch name {
	case "Ref":
		if id, ok := arg.(string); ok && !r.known(id) {
			return fmt.Errorf("%s: %w", id, ErrUnknownReference)
		}
	case "Fn::GetAtt":
		if id, _, err := getAttArgs(arg); err == nil && !r.isResource(id) {
			return fmt.Errorf("%s: %w", id, ErrUnknownReference)
		}
	case "Fn::Sub":
		text, vars, err := subArgs(arg)
		if err != nil {
			return nil
		}
		_, err = substitute(text, func(name string) (string, error) {
			if _, ok := vars[name]; ok {
				return "", nil
			}
			if _, pseudo := pseudoParameters[name]; !pseudo {
				if id, _, ok := strings.Cut(name, "."); ok {
					name = id
				}
			}
			if !r.known(name) {
				return "", ErrUnknownReference
			}
			return "", nil
		})
		return err
	case "Fn::If":
		if a, ok := arg.([]any); ok && len(a) > 0 {
			if c, ok := a[0].(string); ok {
				if _, ok := r.t.Conditions[c]; !ok {
					return fmt.Errorf("condition %s: %w", c, ErrUnknownReference)
				}
			}
		}
	}
	return nil
}

// known reports whether a Ref to name can resolve.
func (r *resolver) known(name string) bool {
	_, pseudo := pseudoParameters[name]
	_, param := r.t.Parameters[name]
	return pseudo || param || r.isResource(name)
}

func (r *resolver) isResource(id string) bool {
	_, declared := r.t.Resources[id]
	_, implicit := r.t.implicit[id]
	return declared || implicit
}

// Stringify returns the text of a scalar where CloudFormation wants text,
// as in a Lambda environment variable, which only holds strings: strings
// as they are, numbers in decimal, booleans as true or false. Lists,
// mappings and null have no such text.
func Stringify(v any) (string, error) {
	switch v := v.(type) {
	case string:
		return v, nil
	case bool:
		return strconv.FormatBool(v), nil
	case int:
		return strconv.Itoa(v), nil
	case int64:
		return strconv.FormatInt(v, 10), nil
	case uint64:
		return strconv.FormatUint(v, 10), nil
	case float64:
		return strconv.FormatFloat(v, 'f', -1, 64), nil
	}
	return "", fmt.Errorf("%s is not text, a number or a boolean", describe(v))
}
