package samtemplate

import (
	"fmt"
	"maps"
	"slices"
)

// Function is an AWS::Serverless::Function with the template's Globals
// applied, as the SAM transform hands it on to CloudFormation.
type Function struct {
	LogicalID string
	// Properties are the function's own properties merged over
	// Globals.Function the way SAM merges them: mappings key by key
	// (Environment.Variables included), lists concatenated with the global
	// entries first, anything else, intrinsic functions included, taken
	// from the function. Intrinsic functions are left unresolved.
	Properties map[string]any
}

// Functions returns the template's AWS::Serverless::Function resources,
// ordered by logical id.
func (t *Template) Functions() []Function {
	var fns []Function
	for _, id := range slices.Sorted(maps.Keys(t.Resources)) {
		if t.Resources[id].Type == functionType {
			fns = append(fns, t.function(id))
		}
	}
	return fns
}

// function returns the function id, which must be one.
func (t *Template) function(id string) Function {
	global, _ := t.Globals["Function"].(map[string]any)
	props, _ := mergeGlobal(global, t.Resources[id].Properties).(map[string]any)
	if props == nil {
		props = map[string]any{}
	}
	return Function{LogicalID: id, Properties: props}
}

// FunctionEnv returns the environment the function logicalID runs with when
// the stack is deployed with opts: Globals.Function.Environment.Variables
// merged with the function's own (the function's win), each resolved and
// turned into text, the only kind of value Lambda holds. Variables that
// resolve to AWS::NoValue are left out.
func (t *Template) FunctionEnv(logicalID string, opts ResolveOptions) (map[string]string, error) {
	if r, ok := t.Resources[logicalID]; !ok || r.Type != functionType {
		return nil, fmt.Errorf("function %s: %w", logicalID, ErrUnknownReference)
	}
	fn := t.function(logicalID)
	env, err := t.Resolve(fn.Properties["Environment"], opts)
	if err != nil {
		return nil, fmt.Errorf("function %s: Environment: %w", logicalID, err)
	}
	vars := map[string]string{}
	if env == nil {
		return vars, nil
	}
	envMap, ok := env.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("function %s: Environment is %s, want a mapping", logicalID, describe(env))
	}
	raw, ok := envMap["Variables"].(map[string]any)
	if !ok {
		if envMap["Variables"] == nil {
			return vars, nil
		}
		return nil, fmt.Errorf("function %s: Environment.Variables is %s, want a mapping", logicalID, describe(envMap["Variables"]))
	}
	for _, name := range slices.Sorted(maps.Keys(raw)) {
		s, err := Stringify(raw[name])
		if err != nil {
			return nil, fmt.Errorf("function %s: variable %s: %w", logicalID, name, err)
		}
		vars[name] = s
	}
	return vars, nil
}

// mergeGlobal merges a local value over a global one as SAM's Globals do.
// The result shares nothing with its inputs, so callers may change it.
func mergeGlobal(global, local any) any {
	gm, gIsMap := global.(map[string]any)
	lm, lIsMap := local.(map[string]any)
	if gIsMap && lIsMap && !isIntrinsic(gm) && !isIntrinsic(lm) {
		out := clone(gm).(map[string]any)
		for k, lv := range lm {
			if gv, ok := out[k]; ok {
				out[k] = mergeGlobal(gv, lv)
			} else {
				out[k] = clone(lv)
			}
		}
		return out
	}
	gl, gIsList := global.([]any)
	ll, lIsList := local.([]any)
	if gIsList && lIsList {
		return append(clone(gl).([]any), clone(ll).([]any)...)
	}
	return clone(local)
}

// isIntrinsic reports whether m is an intrinsic function call, which SAM
// merges like a scalar since it resolves to one.
func isIntrinsic(m map[string]any) bool {
	_, _, ok := intrinsic(m)
	return ok
}

// clone returns a deep copy of a template value.
func clone(v any) any {
	switch v := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(v))
		for k, x := range v {
			out[k] = clone(x)
		}
		return out
	case []any:
		out := make([]any, len(v))
		for i, x := range v {
			out[i] = clone(x)
		}
		return out
	}
	return v
}
