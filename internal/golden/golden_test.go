package golden

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// recorder is a testing.TB that keeps what a check reports.
type recorder struct {
	testing.TB
	errors, fatals []string
}

func (r *recorder) Helper() {}

func (r *recorder) Errorf(format string, args ...any) {
	r.errors = append(r.errors, fmt.Sprintf(format, args...))
}

func (r *recorder) Fatalf(format string, args ...any) {
	r.fatals = append(r.fatals, fmt.Sprintf(format, args...))
	runtime.Goexit()
}

func (r *recorder) Fatal(args ...any) {
	r.fatals = append(r.fatals, fmt.Sprint(args...))
	runtime.Goexit()
}

// check runs Check against a recorder, as a test of its own would.
func check(t *testing.T, path string, got []byte) *recorder {
	r := &recorder{TB: t}
	done := make(chan struct{})
	go func() {
		defer close(done)
		Check(r, path, got)
	}()
	<-done
	return r
}

func setUpdate(t *testing.T, v bool) {
	old := *update
	*update = v
	t.Cleanup(func() { *update = old })
}

func TestCheck(t *testing.T) {
	setUpdate(t, false)
	dir := t.TempDir()
	path := filepath.Join(dir, "page.html.golden")
	if err := os.WriteFile(path, []byte("<p>same</p>\n"), 0o644); err != nil {
		t.Fatal(err)
	}

	if r := check(t, path, []byte("<p>same</p>\n")); len(r.errors)+len(r.fatals) != 0 {
		t.Errorf("equal output reported %v %v", r.errors, r.fatals)
	}

	r := check(t, path, []byte("<p>other</p>\n"))
	want := path + " differs from the golden file (go test -update rewrites it):\n<p>other</p>\n"
	if len(r.errors) != 1 || r.errors[0] != want || len(r.fatals) != 0 {
		t.Errorf("different output reported %q %q, want %q", r.errors, r.fatals, want)
	}

	r = check(t, filepath.Join(dir, "missing.golden"), []byte("x"))
	if len(r.fatals) != 1 || !strings.HasSuffix(r.fatals[0], " (run go test -update to create it)") || len(r.errors) != 0 {
		t.Errorf("a missing file reported %q %q", r.errors, r.fatals)
	}
}

func TestCheckUpdateRewrites(t *testing.T) {
	setUpdate(t, true)
	path := filepath.Join(t.TempDir(), "new.golden")
	if r := check(t, path, []byte("fresh output")); len(r.errors)+len(r.fatals) != 0 {
		t.Errorf("-update reported %v %v", r.errors, r.fatals)
	}
	if b, err := os.ReadFile(path); err != nil || string(b) != "fresh output" {
		t.Errorf("after -update the file holds %q (%v)", b, err)
	}
}

func TestName(t *testing.T) {
	tests := []struct{ path, want string }{
		{"testdata/digest.html.golden", "digest.html.golden"},
		{filepath.Join("testdata", "mails", "alert.txt.golden"), filepath.Join("mails", "alert.txt.golden")},
		{"elsewhere/x.golden", "elsewhere/x.golden"},
		{"/tmp/x.golden", "/tmp/x.golden"},
	}
	for _, tt := range tests {
		if got := name(tt.path); got != tt.want {
			t.Errorf("name(%q) = %q, want %q", tt.path, got, tt.want)
		}
	}
}
