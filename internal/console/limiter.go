package console

import (
	"sync"
	"time"
)

// MaxFailures failed attempts within FailureWindow use up a client's tries
// at the admin token, in the console and, by default, at the admin API.
const (
	MaxFailures   = maxSignInFailures
	FailureWindow = signInFailureWindow
)

// FailureLimiter counts failed attempts at the admin token per client
// within a window: the console's sign-ins, and the admin API's bearer
// tokens (package httpapi). It is safe for concurrent use.
type FailureLimiter struct {
	max    int
	window time.Duration

	mu       sync.Mutex
	byClient map[string]failures
}

type failures struct {
	count int
	since time.Time
}

// maxTrackedClients bounds the limiter's memory; clients beyond it share
// one count, so that many addresses cannot buy many more guesses.
const maxTrackedClients = 10000

const overflowClient = "\x00overflow"

// NewFailureLimiter allows a client max failures within window.
func NewFailureLimiter(max int, window time.Duration) *FailureLimiter {
	return &FailureLimiter{max: max, window: window, byClient: map[string]failures{}}
}

// Allow reports whether client may try again: it has failed fewer than
// max times within the window.
func (l *FailureLimiter) Allow(client string, now time.Time) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	f, ok := l.byClient[client]
	if !ok {
		f = l.byClient[overflowClient]
		if len(l.byClient) < maxTrackedClients {
			return true
		}
	}
	return f.count < l.max || now.Sub(f.since) >= l.window
}

// Fail counts a failed attempt of client.
func (l *FailureLimiter) Fail(client string, now time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if _, ok := l.byClient[client]; !ok && len(l.byClient) >= maxTrackedClients {
		for k, f := range l.byClient {
			if now.Sub(f.since) >= l.window {
				delete(l.byClient, k)
			}
		}
		if len(l.byClient) >= maxTrackedClients {
			client = overflowClient
		}
	}
	f := l.byClient[client]
	if now.Sub(f.since) >= l.window {
		f = failures{since: now}
	}
	f.count++
	l.byClient[client] = f
}

// Window is how long a client's failures count.
func (l *FailureLimiter) Window() time.Duration { return l.window }
