package lambdalocal

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// bootstraps maps each program in testdata to its binary, built by TestMain
// with aws-lambda-go as the real functions are.
var bootstraps = map[string]string{}

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	dir, err := os.MkdirTemp("", "lambdalocal-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	for _, name := range []string{"echo", "initfail"} {
		out := filepath.Join(dir, name, "bootstrap")
		cmd := exec.Command("go", "build", "-tags", "lambda.norpc", "-o", out, "./testdata/"+name)
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if b, err := cmd.CombinedOutput(); err != nil {
			fmt.Fprintf(os.Stderr, "build testdata/%s: %v\n%s", name, err, b)
			return 1
		}
		bootstraps[name] = out
	}
	return m.Run()
}

func start(t *testing.T, program string, opts Options) *Function {
	t.Helper()
	f, err := Start(t.Context(), bootstraps[program], opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := f.Close(); err != nil {
			t.Error(err)
		}
	})
	return f
}

func invoke(t *testing.T, f *Function, event string) Result {
	t.Helper()
	res, err := f.Invoke(t.Context(), []byte(event))
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// startFailure starts program expecting its init to fail, and returns the
// *InitError and the pid the program wrote.
func startFailure(t *testing.T, program string, opts Options) (*InitError, int) {
	t.Helper()
	pidFile := filepath.Join(t.TempDir(), "pid")
	opts.Env["PID_FILE"] = pidFile
	f, err := Start(t.Context(), bootstraps[program], opts)
	if err == nil {
		f.Close()
		t.Fatal("Start succeeded, want an *InitError")
	}
	var ie *InitError
	if !errors.As(err, &ie) {
		t.Fatalf("Start: %v, want an *InitError", err)
	}
	b, err := os.ReadFile(pidFile)
	if err != nil {
		t.Fatal(err)
	}
	pid, err := strconv.Atoi(string(b))
	if err != nil {
		t.Fatal(err)
	}
	return ie, pid
}

// running reports whether a process with pid exists.
func running(pid int) bool {
	return !errors.Is(syscall.Kill(pid, 0), syscall.ESRCH)
}

// syncBuffer is a bytes.Buffer that the process's output can be written to
// while the test reads it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func TestInvoke(t *testing.T) {
	var logs syncBuffer
	f := start(t, "echo", Options{Name: "echo-fn", Stderr: &logs})
	if f.InitDuration() <= 0 {
		t.Errorf("InitDuration = %v, want > 0", f.InitDuration())
	}

	for i := range 5 {
		event := fmt.Sprintf(`{"n":%d,"text":"héllo"}`, i)
		res := invoke(t, f, event)
		if res.Error != nil {
			t.Fatalf("invocation %d: function error %v", i, res.Error)
		}
		if string(res.Payload) != event {
			t.Errorf("invocation %d: payload %s, want %s", i, res.Payload, event)
		}
	}

	// The output arrives through a pipe, complete once Close returns.
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(logs.String(), "echo: init") {
		t.Errorf("Stderr got %q, want the process's init log", logs.String())
	}
}

func TestFunctionError(t *testing.T) {
	f := start(t, "echo", Options{})
	res := invoke(t, f, `{"fail":"no such feed"}`)
	if res.Error == nil {
		t.Fatalf("Result.Error = nil, payload %s", res.Payload)
	}
	if res.Error.Message != "no such feed" || res.Error.Type != "echoError" {
		t.Errorf("Result.Error = %+v, want echoError: no such feed", res.Error)
	}
	if !bytes.Contains(res.Error.Raw, []byte(`"no such feed"`)) {
		t.Errorf("Raw = %s, want the posted body", res.Error.Raw)
	}
	if res.Payload != nil {
		t.Errorf("Payload = %s, want none", res.Payload)
	}

	// A function error leaves the process serving.
	if res := invoke(t, f, `"again"`); string(res.Payload) != `"again"` {
		t.Errorf("after a function error: payload %s, error %v", res.Payload, res.Error)
	}
}

func TestStreamedResponse(t *testing.T) {
	f := start(t, "echo", Options{})
	if res := invoke(t, f, `{"stream":"not JSON"}`); string(res.Payload) != "not JSON" || res.Error != nil {
		t.Errorf("payload %q, error %v; want the raw text", res.Payload, res.Error)
	}

	// An error midway through a stream comes in the request's trailers.
	res := invoke(t, f, `{"streamFail":"feed went away"}`)
	if res.Error == nil || res.Error.Message != "feed went away" || res.Error.Type != "echoError" {
		t.Errorf("Result = %+v, want the stream's error", res)
	}
}

func TestInvocationContext(t *testing.T) {
	const timeout = 5 * time.Second
	f := start(t, "echo", Options{Name: "ctx-fn", Timeout: timeout})
	seen := map[string]bool{}
	for range 2 {
		before := time.Now()
		res := invoke(t, f, `{"context":true}`)
		var got struct {
			RequestID    string `json:"requestId"`
			FunctionARN  string `json:"functionArn"`
			DeadlineMs   int64  `json:"deadlineMs"`
			TraceID      string `json:"traceId"`
			FunctionName string `json:"functionName"`
			Version      string `json:"version"`
			MemoryMB     int    `json:"memoryMB"`
		}
		if err := json.Unmarshal(res.Payload, &got); err != nil {
			t.Fatalf("%v: %s", err, res.Payload)
		}
		if len(got.RequestID) != 36 || seen[got.RequestID] {
			t.Errorf("request id %q, want a fresh UUID", got.RequestID)
		}
		seen[got.RequestID] = true
		if want := "arn:aws:lambda:us-east-1:123456789012:function:ctx-fn"; got.FunctionARN != want {
			t.Errorf("function ARN %q, want %q", got.FunctionARN, want)
		}
		deadline := time.UnixMilli(got.DeadlineMs)
		if deadline.Before(before.Add(timeout-time.Second)) || deadline.After(time.Now().Add(timeout)) {
			t.Errorf("deadline %v, want about %v from %v", deadline, timeout, before)
		}
		if !strings.HasPrefix(got.TraceID, "Root=1-") {
			t.Errorf("trace id %q", got.TraceID)
		}
		if got.FunctionName != "ctx-fn" || got.Version != "$LATEST" || got.MemoryMB != 256 {
			t.Errorf("lambdacontext saw name %q, version %q, memory %d", got.FunctionName, got.Version, got.MemoryMB)
		}
	}
}

func TestEnvIsolation(t *testing.T) {
	t.Setenv("LAMBDALOCAL_TEST_LEAK", "leaked")
	f := start(t, "echo", Options{
		Name: "env-fn",
		Env: map[string]string{
			"GREETING":                        "hi",
			"AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "1024",
			"AWS_LAMBDA_FUNCTION_NAME":        "not-this",
		},
	})
	res := invoke(t, f, `{"env":true}`)
	var got struct {
		Environ []string `json:"environ"`
		WD      string   `json:"wd"`
	}
	if err := json.Unmarshal(res.Payload, &got); err != nil {
		t.Fatalf("%v: %s", err, res.Payload)
	}
	env := map[string]string{}
	for _, kv := range got.Environ {
		k, v, _ := strings.Cut(kv, "=")
		env[k] = v
	}

	taskRoot := filepath.Dir(bootstraps["echo"])
	want := map[string]string{
		"GREETING":                        "hi",
		"PATH":                            "/usr/bin:/bin",
		"HOME":                            env["HOME"], // a temporary directory
		"AWS_LAMBDA_RUNTIME_API":          f.addr,
		"_HANDLER":                        "bootstrap",
		"AWS_LAMBDA_FUNCTION_NAME":        "env-fn",
		"AWS_LAMBDA_FUNCTION_VERSION":     "$LATEST",
		"AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "1024",
		"LAMBDA_TASK_ROOT":                taskRoot,
		"_X_AMZN_TRACE_ID":                env["_X_AMZN_TRACE_ID"], // set by aws-lambda-go per invocation
	}
	for k, v := range want {
		if got, ok := env[k]; !ok || got != v {
			t.Errorf("%s=%q, want %q", k, got, v)
		}
	}
	for k, v := range env {
		if _, ok := want[k]; !ok {
			t.Errorf("unexpected variable %s=%q", k, v)
		}
	}
	if got.WD != taskRoot {
		t.Errorf("working directory %q, want %q", got.WD, taskRoot)
	}
	if fi, err := os.Stat(env["HOME"]); err != nil || !fi.IsDir() {
		t.Errorf("HOME %q is not a directory: %v", env["HOME"], err)
	}

	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(env["HOME"]); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("HOME %q outlived Close: %v", env["HOME"], err)
	}
}

func TestInitExit(t *testing.T) {
	var logs syncBuffer
	ie, pid := startFailure(t, "initfail", Options{Env: map[string]string{}, Stderr: &logs})
	if ie.State == nil || ie.State.ExitCode() != 1 {
		t.Errorf("State = %v, want exit status 1", ie.State)
	}
	if !strings.Contains(ie.Output, "INITFAIL_CONFIG is not set") {
		t.Errorf("Output = %q, want the process's log", ie.Output)
	}
	if msg := ie.Error(); !strings.Contains(msg, "exit status 1") || !strings.Contains(msg, "INITFAIL_CONFIG is not set") {
		t.Errorf("Error() = %q, want the exit status and the output", msg)
	}
	if !strings.Contains(logs.String(), "INITFAIL_CONFIG is not set") {
		t.Errorf("Stderr got %q", logs.String())
	}
	if running(pid) {
		t.Errorf("process %d still runs", pid)
	}
}

func TestInitErrorPosted(t *testing.T) {
	ie, pid := startFailure(t, "initfail", Options{Env: map[string]string{"INITFAIL_POST": "1"}})
	if !bytes.Contains(ie.Body, []byte(`"bad config"`)) {
		t.Errorf("Body = %s, want the posted error", ie.Body)
	}
	if ie.State != nil {
		t.Errorf("State = %v, want nil: the process was stopped", ie.State)
	}
	if running(pid) {
		t.Errorf("process %d still runs", pid)
	}
}

func TestInitTimeout(t *testing.T) {
	ie, pid := startFailure(t, "echo", Options{
		Env:         map[string]string{"ECHO_INIT_SLEEP": "1m"},
		InitTimeout: 300 * time.Millisecond,
	})
	if ie.State != nil || ie.Body != nil {
		t.Errorf("State = %v, Body = %s; want neither", ie.State, ie.Body)
	}
	if !strings.Contains(ie.Error(), "300ms") {
		t.Errorf("Error() = %q, want the timeout", ie.Error())
	}
	if running(pid) {
		t.Errorf("process %d still runs", pid)
	}
}

func TestInitSucceeds(t *testing.T) {
	// initfail is a plain aws-lambda-go function once configured.
	start(t, "initfail", Options{Env: map[string]string{"INITFAIL_CONFIG": "ok"}})
}

func TestExitDuringInvoke(t *testing.T) {
	f := start(t, "echo", Options{})
	begin := time.Now()
	_, err := f.Invoke(t.Context(), []byte(`{"exit":3}`))
	if err == nil {
		t.Fatal("Invoke succeeded, want an error")
	}
	if elapsed := time.Since(begin); elapsed > 2*time.Second {
		t.Errorf("Invoke took %v to notice the exit", elapsed)
	}
	if msg := err.Error(); !strings.Contains(msg, "exit status 3") || !strings.Contains(msg, "echo: exiting with 3") {
		t.Errorf("error %q, want the exit status and the output", msg)
	}
	if _, err := f.Invoke(t.Context(), []byte(`{}`)); err == nil || !strings.Contains(err.Error(), "exit status 3") {
		t.Errorf("Invoke after the exit: %v", err)
	}
}

func TestPanic(t *testing.T) {
	f := start(t, "echo", Options{})
	res := invoke(t, f, `{"panic":"boom"}`)
	if res.Error == nil || res.Error.Message != "boom" {
		t.Fatalf("Result = %+v, want the panic as a function error", res)
	}
	// aws-lambda-go exits after reporting a panic; Lambda would start a new
	// process, this package reports the exit.
	if _, err := f.Invoke(t.Context(), []byte(`{}`)); err == nil || !strings.Contains(err.Error(), "exited") {
		t.Errorf("Invoke after a panic: %v, want the exit", err)
	}
}

func TestTimeout(t *testing.T) {
	f := start(t, "echo", Options{Timeout: 300 * time.Millisecond})
	pid := f.cmd.Process.Pid
	begin := time.Now()
	_, err := f.Invoke(t.Context(), []byte(`{"sleep":"1m"}`))
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Invoke: %v, want a timeout", err)
	}
	if elapsed := time.Since(begin); elapsed > 2*time.Second {
		t.Errorf("Invoke took %v to time out", elapsed)
	}
	if running(pid) {
		t.Errorf("process %d survived the timeout", pid)
	}
	if _, err := f.Invoke(t.Context(), []byte(`{}`)); err == nil {
		t.Error("Invoke after a timeout succeeded")
	}
}

func TestInvokeCanceled(t *testing.T) {
	f := start(t, "echo", Options{})
	ctx, cancel := context.WithTimeout(t.Context(), 100*time.Millisecond)
	defer cancel()
	if _, err := f.Invoke(ctx, []byte(`{"sleep":"400ms"}`)); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Invoke: %v, want ctx's error", err)
	}
	// The abandoned invocation's late answer is accepted and dropped; the
	// process then serves the next one.
	if res := invoke(t, f, `"next"`); string(res.Payload) != `"next"` {
		t.Errorf("next invocation: payload %s, error %v", res.Payload, res.Error)
	}
}

func TestUnknownRequestID(t *testing.T) {
	f := start(t, "echo", Options{})
	for _, path := range []string{"response", "error"} {
		url := "http://" + f.addr + "/2018-06-01/runtime/invocation/no-such-id/" + path
		resp, err := http.Post(url, "application/json", strings.NewReader(`{}`))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusBadRequest {
			t.Errorf("POST %s: status %d, want 400", url, resp.StatusCode)
		}
	}
}

func TestClose(t *testing.T) {
	f, err := Start(t.Context(), bootstraps["echo"], Options{})
	if err != nil {
		t.Fatal(err)
	}
	pid := f.cmd.Process.Pid
	if err := f.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := f.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if running(pid) {
		t.Errorf("process %d outlived Close", pid)
	}
	if _, err := f.Invoke(t.Context(), []byte(`{}`)); err == nil {
		t.Error("Invoke after Close succeeded")
	}
	if resp, err := http.Get("http://" + f.addr + "/2018-06-01/runtime/invocation/next"); err == nil {
		resp.Body.Close()
		t.Error("the Runtime API still answers after Close")
	}
}

func TestBuild(t *testing.T) {
	if _, err := exec.LookPath("make"); err != nil {
		t.Skip("no make")
	}
	repo := t.TempDir()
	makefile := "build-EchoFunction:\n" +
		"\tmkdir -p $(ARTIFACTS_DIR)\n" +
		"\tprintf '%s' '$(LAMBDA_GOARCH)' > $(ARTIFACTS_DIR)/bootstrap\n" +
		"build-BrokenFunction:\n" +
		"\t@echo compiler says no; exit 1\n"
	if err := os.WriteFile(filepath.Join(repo, "Makefile"), []byte(makefile), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "echo")

	bootstrap, err := Build(t.Context(), repo, "EchoFunction", out)
	if err != nil {
		t.Fatal(err)
	}
	if want := filepath.Join(out, "bootstrap"); bootstrap != want {
		t.Errorf("Build = %q, want %q", bootstrap, want)
	}
	if b, err := os.ReadFile(bootstrap); err != nil || string(b) != runtime.GOARCH {
		t.Errorf("bootstrap holds %q (%v), want LAMBDA_GOARCH=%s", b, err, runtime.GOARCH)
	}

	_, err = Build(t.Context(), repo, "BrokenFunction", out)
	if err == nil || !strings.Contains(err.Error(), "compiler says no") {
		t.Errorf("Build of a failing target: %v, want make's output", err)
	}
}
