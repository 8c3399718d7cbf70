package samtemplate

import (
	"errors"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func load(t *testing.T, name string) *Template {
	t.Helper()
	tmpl, err := Load(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return tmpl
}

func TestParseShortForms(t *testing.T) {
	props := load(t, "tags.yaml").Resources["Tags"].Properties
	tests := []struct {
		key  string
		want any
	}{
		{"Ref", map[string]any{"Ref": "Thing"}},
		{"GetAttScalar", map[string]any{"Fn::GetAtt": []any{"Thing", "Arn"}}},
		{"GetAttNested", map[string]any{"Fn::GetAtt": []any{"Db", "Endpoint.Address"}}},
		{"GetAttList", map[string]any{"Fn::GetAtt": []any{"Thing", "Arn"}}},
		{"Sub", map[string]any{"Fn::Sub": "${Thing}-x"}},
		{"SubList", map[string]any{"Fn::Sub": []any{"${A}-x", map[string]any{"A": map[string]any{"Ref": "Thing"}}}}},
		{"If", map[string]any{"Fn::If": []any{"Cond", "yes-value", "no-value"}}},
		{"Not", map[string]any{"Fn::Not": []any{map[string]any{"Condition": "Cond"}}}},
		{"Equals", map[string]any{"Fn::Equals": []any{map[string]any{"Ref": "Param"}, "x"}}},
		{"And", map[string]any{"Fn::And": []any{map[string]any{"Condition": "A"}, map[string]any{"Condition": "B"}}}},
		{"Or", map[string]any{"Fn::Or": []any{map[string]any{"Condition": "A"}, map[string]any{"Fn::Equals": []any{"a", "b"}}}}},
		{"Join", map[string]any{"Fn::Join": []any{",", []any{"a", "b"}}}},
		{"Select", map[string]any{"Fn::Select": []any{0, map[string]any{"Fn::GetAZs": ""}}}},
		{"Split", map[string]any{"Fn::Split": []any{",", "a,b"}}},
		{"FindInMap", map[string]any{"Fn::FindInMap": []any{"Map", "Top", "Second"}}},
		{"Base64", map[string]any{"Fn::Base64": "hello"}},
		{"Cidr", map[string]any{"Fn::Cidr": []any{"10.0.0.0/16", 6, 5}}},
		{"GetAZs", map[string]any{"Fn::GetAZs": "us-west-2"}},
		{"ImportValue", map[string]any{"Fn::ImportValue": "shared-vpc"}},
		{"Condition", map[string]any{"Condition": "Cond"}},
		// Plain scalars keep their YAML type; a date stays text, as
		// CloudFormation reads AWSTemplateFormatVersion.
		{"Plain", map[string]any{
			"Int": 10, "Float": 0.5, "Bool": true, "Null": nil, "Quoted": "10",
			"Date": "2010-09-09", "List": []any{1, "two"},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.key, func(t *testing.T) {
			if got := props[tt.key]; !reflect.DeepEqual(got, tt.want) {
				t.Errorf("%s = %#v, want %#v", tt.key, got, tt.want)
			}
		})
	}
}

func TestLoadSections(t *testing.T) {
	tmpl := load(t, "stack.yaml")

	wantParams := map[string]Parameter{
		"Stage":   {Type: "String", Default: "prod", HasDefault: true, AllowedValues: []string{"dev", "prod"}, Description: "Deployment stage."},
		"BaseUrl": {Type: "String", Default: "", HasDefault: true, AllowedPattern: "[^ ]*"},
		"Rate":    {Type: "Number", Default: "10", HasDefault: true},
		"Zones":   {Type: "CommaDelimitedList", Default: "a,b,c", HasDefault: true},
	}
	if !reflect.DeepEqual(tmpl.Parameters, wantParams) {
		t.Errorf("Parameters = %+v, want %+v", tmpl.Parameters, wantParams)
	}

	table := tmpl.Resources["Table"]
	if table.Type != "AWS::DynamoDB::Table" || table.DeletionPolicy != "Retain" || table.UpdateReplacePolicy != "Delete" || table.Condition != "" {
		t.Errorf("Table = %+v", table)
	}
	if got := tmpl.Resources["DevQueue"].Condition; got != "IsDev" {
		t.Errorf("DevQueue condition = %q, want IsDev", got)
	}
	if got := tmpl.Resources["Probe"].Metadata["Purpose"]; got != "test" {
		t.Errorf("Probe metadata Purpose = %v, want test", got)
	}
	if _, ok := tmpl.Conditions["IsProd"]; !ok || len(tmpl.Conditions) != 6 {
		t.Errorf("Conditions = %v, want 6 including IsProd", tmpl.Conditions)
	}
	if rule, ok := tmpl.Rules["ProdNeedsUrl"].(map[string]any); !ok || rule["Assertions"] == nil {
		t.Errorf("Rules = %v, want ProdNeedsUrl as written", tmpl.Rules)
	}
	if _, ok := tmpl.Globals["Function"].(map[string]any); !ok {
		t.Errorf("Globals = %v, want a Function section", tmpl.Globals)
	}
	out := tmpl.Outputs["TableName"]
	if out.Description != "The table." || !reflect.DeepEqual(out.Value, map[string]any{"Ref": "Table"}) || out.Export["Name"] == nil {
		t.Errorf("Outputs[TableName] = %+v", out)
	}
}

func TestLoadErrors(t *testing.T) {
	tests := []struct {
		file string
		want string
	}{
		{"alias.yaml", "aliases are not allowed"},
		{"unknown-tag.yaml", "unknown tag !Reference"},
		{"duplicate-key.yaml", `duplicate key "A"`},
		{"getatt-no-attribute.yaml", "want LogicalId.Attribute"},
		{"no-resources.yaml", "no Resources"},
		{"no-type.yaml", "resource A: no Type"},
		{"not-a-mapping.yaml", "want a mapping"},
		{"resources-list.yaml", "Resources is a list"},
		{"missing.yaml", "no such file"},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			_, err := Load(filepath.Join("testdata", "invalid", tt.file))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want one containing %q", err, tt.want)
			}
		})
	}
}

func TestResolve(t *testing.T) {
	tmpl := load(t, "stack.yaml")
	probe := tmpl.Resources["Probe"].Properties
	dev := map[string]string{"Stage": "dev"}
	tests := []struct {
		key    string
		params map[string]string
		want   any
	}{
		{key: "RefParam", want: "prod"},
		{key: "RefParam", params: dev, want: "dev"},
		// Parameters are text to CloudFormation, numbers included.
		{key: "RefNumber", want: "10"},
		{key: "RefList", want: []any{"a", "b", "c"}},
		{key: "RefResource", want: "ref:Table"},
		{key: "RefStackName", want: "stack"},
		{key: "RefRegion", want: "us-east-1"},
		{key: "RefAccount", want: "123456789012"},
		{key: "RefPartition", want: "aws"},
		{key: "RefURLSuffix", want: "amazonaws.com"},
		{key: "RefImplicitRole", want: "ref:ApiFunctionRole"},
		{key: "GetAttScalar", want: "getatt:Table.Arn"},
		{key: "GetAttList", want: "getatt:Table.StreamArn"},
		{key: "SubParam", want: "stage-prod"},
		{key: "SubParam", params: dev, want: "stage-dev"},
		{key: "SubNumber", params: map[string]string{"Rate": "2.5"}, want: "rate-2.5"},
		{key: "SubResource", want: "ref:Table"},
		{key: "SubAttr", want: "getatt:Table.Arn/index/*"},
		{key: "SubPseudo", want: "arn:aws:ses:us-east-1:123456789012:identity/stack.amazonaws.com"},
		{key: "SubVars", want: "ref:Table-3-prod"},
		{key: "SubEscape", want: "${Literal}-prod"},
		{key: "SubImplicitApi", want: "https://ref:ServerlessHttpApi.execute-api.us-east-1.amazonaws.com"},
		{key: "IfProd", want: "big"},
		{key: "IfProd", params: dev, want: "small"},
		{key: "IfDev", want: "not-dev"},
		{key: "IfDev", params: dev, want: "dev"},
		{key: "IfUrl", want: "https://ref:ServerlessHttpApi.example"},
		{key: "IfUrl", params: map[string]string{"BaseUrl": "https://news.example.org"}, want: "https://news.example.org"},
		{key: "IfAnd", want: "and-false"},
		{key: "IfAnd", params: map[string]string{"BaseUrl": "u"}, want: "and-true"},
		{key: "IfOr", want: "or-true"},
		{key: "IfOr", params: dev, want: "or-false"},
		{key: "IfOr", params: map[string]string{"Stage": "dev", "BaseUrl": "u"}, want: "or-true"},
		{key: "IfNumber", want: "slow"},
		{key: "IfNumber", params: map[string]string{"Rate": "20"}, want: "fast"},
		{key: "NoValue", want: map[string]any{"Kept": "here", "List": []any{"a", "b"}}},
		{key: "NoValue", params: dev, want: map[string]any{"Kept": "here", "ProdDrops": "dev-only", "List": []any{"a", "b"}}},
		{key: "Join", want: "a-prod-3"},
		{key: "JoinList", params: map[string]string{"Zones": "x,y"}, want: "x,y"},
		{key: "Select", want: "b"},
		{key: "SelectSplit", want: "c"},
		{key: "FindInMap", want: 1024},
		{key: "FindInMap", params: dev, want: 128},
		{key: "Base64", want: "aGk="},
		{key: "GetAZs", want: "us-east-1a"},
		{key: "ImportValue", want: "import:shared"},
		{key: "Literal", want: map[string]any{"Int": 10, "Float": 0.5, "Bool": true}},
	}
	for _, tt := range tests {
		t.Run(tt.key, func(t *testing.T) {
			v, ok := probe[tt.key]
			if !ok {
				t.Fatalf("testdata/stack.yaml: Probe has no property %s", tt.key)
			}
			got, err := tmpl.Resolve(v, ResolveOptions{Parameters: tt.params})
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("%s with %v = %#v, want %#v", tt.key, tt.params, got, tt.want)
			}
		})
	}
}

func TestResolveDoesNotModify(t *testing.T) {
	tmpl := load(t, "stack.yaml")
	noValue := tmpl.Resources["Probe"].Properties["NoValue"].(map[string]any)
	if _, err := tmpl.Resolve(noValue, ResolveOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, ok := noValue["Dropped"]; !ok {
		t.Error("Resolve removed a key from the template's own value")
	}
}

func TestResolveErrors(t *testing.T) {
	tests := []struct {
		name    string
		file    string // "" for stack.yaml
		v       any
		params  map[string]string
		want    string
		unknown bool // whether the error wraps ErrUnknownReference
	}{
		{name: "unknown Ref", v: map[string]any{"Ref": "Nope"}, want: "Ref: Nope: unknown reference", unknown: true},
		{name: "unknown GetAtt", v: map[string]any{"Fn::GetAtt": []any{"Nope", "Arn"}}, want: "Nope", unknown: true},
		{name: "unknown Sub variable", v: map[string]any{"Fn::Sub": "x-${Nope}"}, want: "${Nope}", unknown: true},
		{name: "unknown Sub attribute", v: map[string]any{"Fn::Sub": "${Nope.Arn}"}, want: "${Nope.Arn}", unknown: true},
		{name: "unknown condition", v: map[string]any{"Fn::If": []any{"Nope", "a", "b"}}, want: "condition Nope", unknown: true},
		{name: "unknown Ref in the branch not taken", v: map[string]any{"Fn::If": []any{"IsProd", "a", map[string]any{"Ref": "Nope"}}}, want: "Nope", unknown: true},
		{name: "unknown Sub variable in the branch not taken", v: map[string]any{"Fn::If": []any{"IsDev", map[string]any{"Fn::Sub": "${Nope}"}, "b"}}, want: "${Nope}", unknown: true},
		{name: "implicit role of a function with its own", v: map[string]any{"Ref": "WorkerFunctionRole"}, want: "WorkerFunctionRole", unknown: true},
		{name: "unknown parameter override", v: "x", params: map[string]string{"Nope": "1"}, want: "parameter override Nope", unknown: true},
		{name: "unknown mapping key", v: map[string]any{"Fn::FindInMap": []any{"Sizes", "test", "Memory"}}, want: "Sizes.test.Memory", unknown: true},
		{name: "path in error", v: map[string]any{"A": []any{map[string]any{"B": map[string]any{"Ref": "Nope"}}}}, want: "A: [0]: B: Ref: Nope", unknown: true},
		{name: "value not allowed", v: "x", params: map[string]string{"Stage": "test"}, want: `"test" is not one of the AllowedValues`},
		{name: "value not matching the whole pattern", v: "x", params: map[string]string{"BaseUrl": "a b"}, want: `"a b" does not match the AllowedPattern`},
		{name: "Number not numeric", v: "x", params: map[string]string{"Rate": "fast"}, want: "not a Number"},
		{name: "no value for parameter", file: "required.yaml", v: "x", want: "parameter Domain: no value given and no Default"},
		{name: "resource whose condition is false", v: map[string]any{"Ref": "DevQueue"}, want: "DevQueue is not created: its condition IsDev is false"},
		{name: "list where text is wanted", v: map[string]any{"Fn::Sub": "${Zones}"}, want: "a list is not text"},
		{name: "Select out of range", v: map[string]any{"Fn::Select": []any{3, map[string]any{"Ref": "Zones"}}}, want: "index 3 out of range"},
		{name: "unterminated Sub", v: map[string]any{"Fn::Sub": "${Stage"}, want: "unterminated ${"},
		{name: "unsupported function", v: map[string]any{"Fn::Cidr": []any{"10.0.0.0/16", 6, 5}}, want: "Fn::Cidr: not supported"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			file := tt.file
			if file == "" {
				file = "stack.yaml"
			}
			_, err := load(t, file).Resolve(tt.v, ResolveOptions{Parameters: tt.params})
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want one containing %q", err, tt.want)
			}
			if got := errors.Is(err, ErrUnknownReference); got != tt.unknown {
				t.Errorf("errors.Is(%v, ErrUnknownReference) = %v, want %v", err, got, tt.unknown)
			}
		})
	}
}

func TestResolveDevQueueInDev(t *testing.T) {
	got, err := load(t, "stack.yaml").Resolve(map[string]any{"Ref": "DevQueue"}, ResolveOptions{Parameters: map[string]string{"Stage": "dev"}})
	if err != nil || got != "ref:DevQueue" {
		t.Fatalf("Ref DevQueue in dev = %v, %v; want ref:DevQueue", got, err)
	}
}

func TestCondition(t *testing.T) {
	tmpl := load(t, "stack.yaml")
	tests := []struct {
		name   string
		params map[string]string
		want   bool
	}{
		{"IsProd", nil, true},
		{"IsProd", map[string]string{"Stage": "dev"}, false},
		{"IsDev", map[string]string{"Stage": "dev"}, true},
		{"HasBaseUrl", nil, false},
		{"HasBaseUrl", map[string]string{"BaseUrl": "https://x"}, true},
		{"FastRate", map[string]string{"Rate": "20"}, true},
	}
	for _, tt := range tests {
		got, err := tmpl.Condition(tt.name, ResolveOptions{Parameters: tt.params})
		if err != nil || got != tt.want {
			t.Errorf("Condition(%s) with %v = %v, %v; want %v", tt.name, tt.params, got, err, tt.want)
		}
	}
}

func TestFunctions(t *testing.T) {
	fns := load(t, "stack.yaml").Functions()
	var ids []string
	for _, fn := range fns {
		ids = append(ids, fn.LogicalID)
	}
	if want := []string{"ApiFunction", "WorkerFunction"}; !reflect.DeepEqual(ids, want) {
		t.Fatalf("Functions = %v, want %v", ids, want)
	}
	api, worker := fns[0].Properties, fns[1].Properties

	tests := []struct {
		name string
		got  any
		want any
	}{
		{"global scalar kept", api["Runtime"], "provided.al2023"},
		{"function scalar wins", api["Timeout"], 30},
		{"global scalar where the function has none", worker["Timeout"], 60},
		{"maps merged key by key", api["LoggingConfig"], map[string]any{"LogFormat": "JSON", "ApplicationLogLevel": "DEBUG"}},
		{"lists appended, global first", api["Layers"], []any{map[string]any{"Ref": "SharedLayer"}, "arn:aws:lambda:us-east-1:123456789012:layer:extra:1"}},
		{"global list alone", worker["Layers"], []any{map[string]any{"Ref": "SharedLayer"}}},
		{"function-only property", worker["Role"], "arn:aws:iam::123456789012:role/worker"},
		{"variables merged, function wins", api["Environment"].(map[string]any)["Variables"].(map[string]any)["OVERRIDDEN"], "function"},
		{"global variable kept", api["Environment"].(map[string]any)["Variables"].(map[string]any)["TABLE"], map[string]any{"Ref": "Table"}},
	}
	for _, tt := range tests {
		if !reflect.DeepEqual(tt.got, tt.want) {
			t.Errorf("%s: got %#v, want %#v", tt.name, tt.got, tt.want)
		}
	}
}

func TestFunctionsDoNotShareGlobals(t *testing.T) {
	tmpl := load(t, "stack.yaml")
	fns := tmpl.Functions()
	fns[0].Properties["LoggingConfig"].(map[string]any)["LogFormat"] = "Text"
	global := tmpl.Globals["Function"].(map[string]any)["LoggingConfig"].(map[string]any)
	if global["LogFormat"] != "JSON" {
		t.Error("changing a function's merged properties changed Globals")
	}
}

func TestFunctionEnv(t *testing.T) {
	tmpl := load(t, "stack.yaml")
	tests := []struct {
		name   string
		fn     string
		params map[string]string
		want   map[string]string
	}{
		{
			name: "defaults, numbers as text, NoValue dropped",
			fn:   "ApiFunction",
			want: map[string]string{
				"TABLE": "ref:Table", "STAGE": "prod", "OVERRIDDEN": "function", "RATE": "10",
				"COUNT": "3", "RATIO": "0.25", "ENABLED": "true",
			},
		},
		{
			name:   "overrides",
			fn:     "ApiFunction",
			params: map[string]string{"Stage": "dev", "BaseUrl": "https://news.example.org", "Rate": "5"},
			want: map[string]string{
				"TABLE": "ref:Table", "STAGE": "dev", "OVERRIDDEN": "function", "RATE": "5",
				"BASE_URL": "https://news.example.org", "COUNT": "3", "RATIO": "0.25", "ENABLED": "true",
			},
		},
		{
			name: "globals only",
			fn:   "WorkerFunction",
			want: map[string]string{"TABLE": "ref:Table", "STAGE": "prod", "OVERRIDDEN": "global", "RATE": "10"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tmpl.FunctionEnv(tt.fn, ResolveOptions{Parameters: tt.params})
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("FunctionEnv(%s) = %v, want %v", tt.fn, got, tt.want)
			}
		})
	}
}

func TestFunctionEnvErrors(t *testing.T) {
	tmpl := load(t, "stack.yaml")
	for _, id := range []string{"Nope", "Table"} {
		if _, err := tmpl.FunctionEnv(id, ResolveOptions{}); !errors.Is(err, ErrUnknownReference) {
			t.Errorf("FunctionEnv(%s) err = %v, want ErrUnknownReference", id, err)
		}
	}
	_, err := tmpl.FunctionEnv("ApiFunction", ResolveOptions{Parameters: map[string]string{"Stage": "test"}})
	if err == nil || !strings.Contains(err.Error(), "function ApiFunction") {
		t.Errorf("FunctionEnv with a disallowed Stage: err = %v, want one naming the function", err)
	}
}

func TestStringify(t *testing.T) {
	tests := []struct {
		v       any
		want    string
		wantErr bool
	}{
		{v: "text", want: "text"},
		{v: 10, want: "10"},
		{v: int64(-3), want: "-3"},
		{v: uint64(18446744073709551615), want: "18446744073709551615"},
		{v: 0.25, want: "0.25"},
		{v: 1e21, want: "1000000000000000000000"},
		{v: 2.0, want: "2"},
		{v: true, want: "true"},
		{v: nil, wantErr: true},
		{v: []any{"a"}, wantErr: true},
		{v: map[string]any{"a": "b"}, wantErr: true},
	}
	for _, tt := range tests {
		got, err := Stringify(tt.v)
		if (err != nil) != tt.wantErr || got != tt.want {
			t.Errorf("Stringify(%#v) = %q, %v; want %q, error %v", tt.v, got, err, tt.want, tt.wantErr)
		}
	}
}

// TestRepositoryTemplate checks what must hold of template.yaml whatever it
// wires: it loads, and every function gets an environment.
func TestRepositoryTemplate(t *testing.T) {
	tmpl, err := Load("../../template.yaml")
	if err != nil {
		t.Fatal(err)
	}
	fns := tmpl.Functions()
	if len(fns) == 0 {
		t.Fatal("template.yaml has no AWS::Serverless::Function")
	}
	for _, fn := range fns {
		env, err := tmpl.FunctionEnv(fn.LogicalID, ResolveOptions{})
		if err != nil {
			t.Errorf("FunctionEnv(%s): %v", fn.LogicalID, err)
			continue
		}
		if len(env) == 0 {
			t.Errorf("FunctionEnv(%s) is empty", fn.LogicalID)
		}
	}
}
