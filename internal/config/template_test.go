package config

import (
	"maps"
	"slices"
	"testing"

	"github.com/radiogram/radiogram/internal/samtemplate"
)

// TestTemplateEnvironments holds template.yaml and the code together: each
// function's environment (Globals merged with its own, intrinsics resolved
// with the parameters' defaults) must start its role, and must set nothing
// that role does not read.
func TestTemplateEnvironments(t *testing.T) {
	tmpl, err := samtemplate.Load("../../template.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var functions []string
	for _, fn := range tmpl.Functions() {
		functions = append(functions, fn.LogicalID)
	}
	var roles []string
	for _, role := range Roles {
		roles = append(roles, role.FunctionID())
	}
	if !slices.Equal(slices.Sorted(slices.Values(functions)), slices.Sorted(slices.Values(roles))) {
		t.Fatalf("template functions %v, roles' functions %v: want one role per function", functions, roles)
	}
	for _, role := range Roles {
		t.Run(role.FunctionID(), func(t *testing.T) {
			env, err := tmpl.FunctionEnv(role.FunctionID(), samtemplate.ResolveOptions{})
			if err != nil {
				t.Fatal(err)
			}
			needs := NeedsOf(role)
			for _, name := range slices.Sorted(maps.Keys(env)) {
				if !needs.Reads(name) {
					t.Errorf("the template sets %s=%q, which the %s role never reads", name, env[name], role)
				}
			}
			cfg, err := FromEnv(func(k string) string { return env[k] })
			if err != nil {
				t.Fatalf("FromEnv: %v", err)
			}
			if err := cfg.Check(role); err != nil {
				t.Errorf("with the template's environment: %v", err)
			}
		})
	}
}

func TestFunctionID(t *testing.T) {
	for role, want := range map[Role]string{Ingest: "IngestFunction", API: "ApiFunction", Feedback: "FeedbackFunction"} {
		if got := role.FunctionID(); got != want {
			t.Errorf("%s.FunctionID() = %q, want %q", role, got, want)
		}
	}
}
