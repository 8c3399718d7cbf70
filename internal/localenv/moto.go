package localenv

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"sync"
	"syscall"
	"time"
)

const (
	// Another process can take the free port between our probe and moto's
	// bind; a few fresh ports make that race irrelevant.
	portAttempts = 3
	// moto_server needs a second or two to import itself; the bound is for
	// a machine under load, not the normal case.
	readyTimeout  = 20 * time.Second
	readyInterval = 50 * time.Millisecond
	// How long moto gets to exit on SIGTERM before it is killed.
	stopGrace = 5 * time.Second
)

// motoServer is a moto_server process running in its own process group, so
// that stopping it cannot leave a child behind.
type motoServer struct {
	endpoint string
	cmd      *exec.Cmd
	output   *tailBuffer
	docker   *dockerStub

	exited  chan struct{} // closed once the process has been reaped
	waitErr error         // the process's exit; read only after exited

	mu      sync.Mutex
	stopped bool // the exit was asked for: it is not a crash
}

// errExited reports that moto_server quit before answering, most often
// because another process took the port first.
var errExited = errors.New("moto_server exited before answering")

func startMoto(ctx context.Context, log io.Writer) (*motoServer, error) {
	path, err := exec.LookPath("moto_server")
	if err != nil {
		return nil, fmt.Errorf("start moto_server: %w", err)
	}
	var lastErr error
	for range portAttempts {
		port, err := freePort()
		if err != nil {
			return nil, fmt.Errorf("start moto_server: %w", err)
		}
		m, err := launchMoto(path, port, log)
		if err != nil {
			return nil, err
		}
		err = waitReady(ctx, m.endpoint, m.exited)
		if err == nil {
			return m, nil
		}
		stopErr := m.stop()
		if !errors.Is(err, errExited) {
			return nil, errors.Join(err, stopErr)
		}
		lastErr = fmt.Errorf("start moto_server on port %d: %w: %s", port, m.waitErr, m.output)
	}
	return nil, lastErr
}

func launchMoto(path string, port int, log io.Writer) (*motoServer, error) {
	if log == nil {
		log = io.Discard
	}
	m := &motoServer{
		endpoint: "http://127.0.0.1:" + strconv.Itoa(port),
		output:   &tailBuffer{max: 4 << 10},
		exited:   make(chan struct{}),
	}
	docker, err := startDockerStub()
	if err != nil {
		return nil, fmt.Errorf("start moto_server: %w", err)
	}
	m.docker = docker
	m.cmd = exec.Command(path, "-H", "127.0.0.1", "-p", strconv.Itoa(port))
	m.cmd.Env = append(os.Environ(), "DOCKER_HOST="+docker.host())
	// One writer for both streams: exec then copies them in one goroutine.
	out := io.MultiWriter(log, m.output)
	m.cmd.Stdout = out
	m.cmd.Stderr = out
	m.cmd.SysProcAttr = motoProcAttr()
	// Should a grandchild escape the group with our pipes, Wait still returns.
	m.cmd.WaitDelay = time.Second
	if err := m.cmd.Start(); err != nil {
		docker.close()
		return nil, fmt.Errorf("start moto_server: %w", err)
	}
	go func() {
		m.waitErr = m.cmd.Wait()
		docker.close()
		close(m.exited)
	}()
	return m, nil
}

// stop ends the process group with SIGTERM, then SIGKILL after stopGrace.
// It reports an error only if moto had already died on its own.
func (m *motoServer) stop() error {
	m.mu.Lock()
	alreadyStopped := m.stopped
	m.stopped = true
	m.mu.Unlock()
	if alreadyStopped {
		<-m.exited
		return nil
	}

	select {
	case <-m.exited:
		return fmt.Errorf("moto_server at %s had exited: %w: %s", m.endpoint, m.waitErr, m.output)
	default:
	}

	group := -m.cmd.Process.Pid
	_ = syscall.Kill(group, syscall.SIGTERM)
	timer := time.NewTimer(stopGrace)
	defer timer.Stop()
	select {
	case <-m.exited:
	case <-timer.C:
		_ = syscall.Kill(group, syscall.SIGKILL)
		<-m.exited
	}
	// The leader is gone; anything it spawned goes with it.
	_ = syscall.Kill(group, syscall.SIGKILL)
	return nil
}

// waitReady polls endpoint until moto answers, ctx is done, readyTimeout
// passes, or exited (if not nil) is closed.
func waitReady(ctx context.Context, endpoint string, exited <-chan struct{}) error {
	ctx, cancel := context.WithTimeout(ctx, readyTimeout)
	defer cancel()
	// No keep-alive: a pooled connection would outlive the wait.
	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	url := endpoint + "/moto-api/"
	ticker := time.NewTicker(readyInterval)
	defer ticker.Stop()
	var lastErr error
	for {
		lastErr = probe(ctx, client, url)
		if lastErr == nil {
			return nil
		}
		select {
		case <-exited:
			return errExited
		case <-ctx.Done():
			return fmt.Errorf("wait for moto at %s: %w (last attempt: %v)", endpoint, ctx.Err(), lastErr)
		case <-ticker.C:
		}
	}
}

func probe(ctx context.Context, client *http.Client, url string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	return nil
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("find a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// tailBuffer keeps the last max bytes written to it: enough of moto's
// output to explain a failure without holding all of it.
type tailBuffer struct {
	mu  sync.Mutex
	buf []byte
	max int
}

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.buf = append(t.buf, p...)
	if over := len(t.buf) - t.max; over > 0 {
		t.buf = t.buf[over:]
	}
	return len(p), nil
}

func (t *tailBuffer) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return string(t.buf)
}
