// Package lambdalocal runs a Lambda function's real bootstrap binary locally
// against a Lambda Runtime API served on loopback by this package: sam local
// without Docker.
//
// The binary is the one `sam build` would deploy (see [Build]); it runs as a
// plain child process with only the environment Lambda would give it, and
// talks to this package exactly as it would talk to Lambda, through the
// Runtime API described at
// https://docs.aws.amazon.com/lambda/latest/dg/runtimes-api.html.
// Like one Lambda execution environment, a [Function] handles one invocation
// at a time.
package lambdalocal

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"
)

const (
	defaultTimeout     = 30 * time.Second
	defaultInitTimeout = 10 * time.Second
	defaultMemoryMB    = "256"

	// stopGrace is how long Close lets the process exit on SIGTERM.
	stopGrace = 2 * time.Second
	// outputTail is how much of the process's output errors quote.
	outputTail = 8 << 10
)

// Options configures a function started by [Start].
type Options struct {
	// Name is the function's name, for AWS_LAMBDA_FUNCTION_NAME and the
	// invoked function ARN. It defaults to the name of the bootstrap's
	// directory.
	Name string

	// Env is the function's environment, as Lambda would set it from the
	// template. The process gets only this, PATH=/usr/bin:/bin, HOME set to a
	// fresh temporary directory, and the Lambda runtime variables; nothing
	// leaks in from the caller's environment. Env may override PATH, HOME,
	// AWS_LAMBDA_FUNCTION_VERSION ($LATEST) and
	// AWS_LAMBDA_FUNCTION_MEMORY_SIZE (256), but not the variables that tie
	// the process to this package: AWS_LAMBDA_RUNTIME_API, _HANDLER,
	// AWS_LAMBDA_FUNCTION_NAME and LAMBDA_TASK_ROOT.
	Env map[string]string

	// Timeout is the deadline of each invocation, as the function's Timeout
	// setting; it defaults to 30s.
	Timeout time.Duration

	// InitTimeout bounds how long Start waits for the process to ask for its
	// first invocation; it defaults to 10s.
	InitTimeout time.Duration

	// Stderr, if not nil, receives the process's stdout and stderr (its
	// logs). It is not written to after Close returns; its errors are
	// ignored, so that a broken log sink cannot break the function.
	Stderr io.Writer
}

// A Function is a running bootstrap process and the Runtime API it polls.
type Function struct {
	name    string
	arn     string
	timeout time.Duration
	addr    string // host:port of the Runtime API
	home    string // the process's HOME, removed by Close

	cmd    *exec.Cmd
	output *tailWriter
	srv    *http.Server

	started      time.Time
	initDuration time.Duration // set before ready is closed

	ready     chan struct{} // closed at the first GET .../invocation/next
	readyOnce sync.Once
	initError chan []byte      // the first body posted to .../init/error
	next      chan *invocation // hands an event to a waiting GET .../next
	exited    chan struct{}    // closed once the process is reaped and its output drained
	closed    chan struct{}    // closed by Close

	mu      sync.Mutex
	pending map[string]*invocation // handed to the process, not yet answered

	closeOnce sync.Once
	closeErr  error
}

// An invocation is one event on its way through the Runtime API.
type invocation struct {
	id       string
	traceID  string
	event    []byte
	deadline time.Time
	// result has room for the one answer, so that answering never blocks,
	// even for an invocation whose caller has given up.
	result chan Result
}

// Result is the outcome of an invocation that the function answered.
type Result struct {
	// Payload is the response body the function posted; with Error set,
	// whatever it streamed before failing, if anything.
	Payload []byte
	// Error is the error the function reported, if it did.
	Error *FunctionError
}

// FunctionError is an error a function reported for an invocation, as
// aws-lambda-go does when a handler returns an error or panics.
type FunctionError struct {
	Message string `json:"errorMessage"`
	Type    string `json:"errorType"`
	Raw     []byte `json:"-"` // the body as posted
}

func (e *FunctionError) Error() string {
	if e.Type == "" {
		return e.Message
	}
	return e.Type + ": " + e.Message
}

// InitError reports a function that did not get as far as asking for its
// first invocation.
type InitError struct {
	Name string
	// Body is what the process posted to /runtime/init/error, if anything.
	Body []byte
	// State is how the process ended, if it exited by itself; nil if it was
	// still running when Start gave up on it.
	State *os.ProcessState
	// Output is the tail of the process's stdout and stderr.
	Output string

	reason string
}

func (e *InitError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "start %s: %s", e.Name, e.reason)
	if len(e.Body) > 0 {
		fmt.Fprintf(&b, ": %s", e.Body)
	}
	if e.State != nil {
		fmt.Fprintf(&b, " (%s)", e.State)
	}
	if e.Output != "" {
		fmt.Fprintf(&b, "; output:\n%s", e.Output)
	}
	return b.String()
}

// Start serves the Runtime API on a free 127.0.0.1 port, starts bootstrap
// against it, and returns once the process asks for its first invocation,
// that is once its initialization succeeded. If instead the process posts
// an init error, exits, or is not ready within Options.InitTimeout, Start
// stops it and returns an *InitError. ctx bounds the start only.
func Start(ctx context.Context, bootstrap string, opts Options) (*Function, error) {
	path, err := filepath.Abs(bootstrap)
	if err != nil {
		return nil, fmt.Errorf("start %s: %w", bootstrap, err)
	}
	taskRoot := filepath.Dir(path)
	name := cmp.Or(opts.Name, filepath.Base(taskRoot))

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	home, err := os.MkdirTemp("", "lambdalocal-home-")
	if err != nil {
		ln.Close()
		return nil, fmt.Errorf("start %s: %w", name, err)
	}

	f := &Function{
		name:      name,
		arn:       "arn:aws:lambda:us-east-1:123456789012:function:" + name,
		timeout:   cmp.Or(opts.Timeout, defaultTimeout),
		addr:      ln.Addr().String(),
		home:      home,
		output:    &tailWriter{w: opts.Stderr, max: outputTail},
		ready:     make(chan struct{}),
		initError: make(chan []byte, 1),
		next:      make(chan *invocation),
		exited:    make(chan struct{}),
		closed:    make(chan struct{}),
		pending:   make(map[string]*invocation),
	}
	f.srv = &http.Server{Handler: f.runtimeAPI()}

	f.cmd = exec.Command(path)
	f.cmd.Dir = taskRoot
	f.cmd.Env = f.environ(opts.Env, taskRoot)
	// One writer for both streams: exec then copies them in one goroutine.
	f.cmd.Stdout = f.output
	f.cmd.Stderr = f.output
	f.cmd.SysProcAttr = procAttr()
	// Should a grandchild escape the group with our pipes, Wait still returns.
	f.cmd.WaitDelay = time.Second

	// started is set before the server goroutine exists, so that its
	// handlers read it without a race.
	f.started = time.Now()
	go f.srv.Serve(ln)
	if err := f.cmd.Start(); err != nil {
		f.srv.Close()
		os.RemoveAll(home)
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	go func() {
		f.cmd.Wait()
		close(f.exited)
	}()

	initTimeout := cmp.Or(opts.InitTimeout, defaultInitTimeout)
	timer := time.NewTimer(initTimeout)
	defer timer.Stop()
	initErr := &InitError{Name: name}
	select {
	case <-f.ready:
		return f, nil
	case body := <-f.initError:
		initErr.reason = "init error posted"
		initErr.Body = body
	case <-f.exited:
		initErr.reason = "process exited during init"
	case <-timer.C:
		initErr.reason = fmt.Sprintf("no request for an invocation within %s", initTimeout)
	case <-ctx.Done():
		f.Close()
		return nil, fmt.Errorf("start %s: %w", name, ctx.Err())
	}
	if isClosed(f.exited) {
		initErr.State = f.cmd.ProcessState
	}
	f.Close()
	if initErr.Body == nil {
		// A runtime may post its init error and exit at once.
		select {
		case initErr.Body = <-f.initError:
		default:
		}
	}
	initErr.Output = f.output.String()
	return nil, initErr
}

// environ is the process's whole environment: see Options.Env.
func (f *Function) environ(fnEnv map[string]string, taskRoot string) []string {
	env := map[string]string{
		"PATH":                            "/usr/bin:/bin",
		"HOME":                            f.home,
		"AWS_LAMBDA_FUNCTION_VERSION":     "$LATEST",
		"AWS_LAMBDA_FUNCTION_MEMORY_SIZE": defaultMemoryMB,
	}
	maps.Copy(env, fnEnv)
	env["AWS_LAMBDA_RUNTIME_API"] = f.addr
	env["_HANDLER"] = "bootstrap"
	env["AWS_LAMBDA_FUNCTION_NAME"] = f.name
	env["LAMBDA_TASK_ROOT"] = taskRoot

	list := make([]string, 0, len(env))
	for _, k := range slices.Sorted(maps.Keys(env)) {
		list = append(list, k+"="+env[k])
	}
	return list
}

// InitDuration is the time from starting the process to its first request
// for an invocation, Lambda's Init Duration.
func (f *Function) InitDuration() time.Duration {
	return f.initDuration
}

// Invoke hands event to the function and waits for its answer. An error
// the function reports is returned in Result.Error; Invoke's own error
// means no answer came: ctx is done, Options.Timeout passed, or the process
// exited (as it does after a panic in the handler). As Lambda does, a
// timeout kills the process, so later invocations fail too.
func (f *Function) Invoke(ctx context.Context, event []byte) (Result, error) {
	if isClosed(f.closed) {
		return Result{}, fmt.Errorf("invoke %s: function is closed", f.name)
	}
	inv := &invocation{
		id:       newRequestID(),
		traceID:  newTraceID(),
		event:    event,
		deadline: time.Now().Add(f.timeout),
		result:   make(chan Result, 1),
	}
	timer := time.NewTimer(f.timeout)
	defer timer.Stop()

	select {
	case f.next <- inv:
	case <-f.exited:
		return Result{}, f.exitError()
	case <-f.closed:
		return Result{}, fmt.Errorf("invoke %s: function is closed", f.name)
	case <-timer.C:
		return Result{}, f.timedOut()
	case <-ctx.Done():
		return Result{}, fmt.Errorf("invoke %s: %w", f.name, ctx.Err())
	}

	select {
	case res := <-inv.result:
		return res, nil
	case <-f.exited:
		// A panicking handler reports its error, then exits: prefer the report.
		select {
		case res := <-inv.result:
			return res, nil
		default:
			return Result{}, f.exitError()
		}
	case <-timer.C:
		select {
		case res := <-inv.result:
			return res, nil
		default:
			return Result{}, f.timedOut()
		}
	case <-ctx.Done():
		// The process still runs the handler; its answer is accepted and
		// dropped, and its next request for an invocation serves the next
		// Invoke.
		return Result{}, fmt.Errorf("invoke %s: %w", f.name, ctx.Err())
	}
}

// timedOut kills the process, as Lambda ends an execution environment
// whose invocation timed out, and reports the timeout.
func (f *Function) timedOut() error {
	f.kill()
	return fmt.Errorf("invoke %s: timed out after %s: %w; output:\n%s",
		f.name, f.timeout, context.DeadlineExceeded, f.output)
}

// exitError reports that the process has exited; it needs f.exited closed.
func (f *Function) exitError() error {
	return fmt.Errorf("invoke %s: process exited (%s); output:\n%s",
		f.name, f.cmd.ProcessState, f.output)
}

// Close stops the process, with SIGTERM to its process group and SIGKILL
// after 2s, and the Runtime API server. It is safe to call more than once.
func (f *Function) Close() error {
	f.closeOnce.Do(func() {
		close(f.closed)
		f.stop()
		if err := errors.Join(f.srv.Close(), os.RemoveAll(f.home)); err != nil {
			f.closeErr = fmt.Errorf("close %s: %w", f.name, err)
		}
	})
	return f.closeErr
}

// stop ends the process group with SIGTERM, then SIGKILL after stopGrace,
// and waits for the process to be reaped.
func (f *Function) stop() {
	if isClosed(f.exited) {
		// Its pid may be reused by now: signal nothing.
		return
	}
	group := -f.cmd.Process.Pid
	_ = syscall.Kill(group, syscall.SIGTERM)
	timer := time.NewTimer(stopGrace)
	defer timer.Stop()
	select {
	case <-f.exited:
	case <-timer.C:
		_ = syscall.Kill(group, syscall.SIGKILL)
		<-f.exited
	}
	// The leader is gone; anything it spawned goes with it.
	_ = syscall.Kill(group, syscall.SIGKILL)
}

// kill ends the process group at once and waits for the process to be
// reaped.
func (f *Function) kill() {
	if isClosed(f.exited) {
		return
	}
	_ = syscall.Kill(-f.cmd.Process.Pid, syscall.SIGKILL)
	<-f.exited
}

func isClosed(c <-chan struct{}) bool {
	select {
	case <-c:
		return true
	default:
		return false
	}
}

// newRequestID returns a random version 4 UUID, the form Lambda's request
// ids take.
func newRequestID() string {
	var b [16]byte
	rand.Read(b[:]) // never fails
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

// newTraceID returns a random, unsampled X-Ray trace header.
func newTraceID() string {
	var b [20]byte
	rand.Read(b[:]) // never fails
	return fmt.Sprintf("Root=1-%08x-%x;Parent=%x;Sampled=0", time.Now().Unix(), b[:12], b[12:])
}

// parseFunctionError reads an error body as aws-lambda-go posts it; a body
// that is not the expected JSON is kept whole as the message.
func parseFunctionError(body []byte, typ string) *FunctionError {
	fe := &FunctionError{Raw: body}
	if err := json.Unmarshal(body, fe); err != nil {
		fe.Message = string(body)
	}
	fe.Type = cmp.Or(fe.Type, typ)
	return fe
}
