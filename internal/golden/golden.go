// Package golden compares tests' output with golden files, which the
// -update flag rewrites from the current output:
//
//	go test ./internal/digestmail -update
package golden

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata from the current output")

// Check fails t when got differs from the golden file at path, naming the
// file as it stands under testdata. With -update it first writes got to
// path.
func Check(t testing.TB, path string, got []byte) {
	t.Helper()
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if string(got) != string(want) {
		t.Errorf("%s differs from the golden file (go test -update rewrites it):\n%s", name(path), got)
	}
}

// name is path as it stands under testdata, or path itself when it is not
// there.
func name(path string) string {
	rel, err := filepath.Rel("testdata", path)
	if err != nil || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
		return path
	}
	return rel
}
