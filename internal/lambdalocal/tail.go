package lambdalocal

import (
	"io"
	"sync"
)

// tailWriter forwards the process's output to w, if not nil, and keeps its
// last max bytes for error messages.
type tailWriter struct {
	w   io.Writer
	max int

	mu   sync.Mutex
	tail []byte
}

func (t *tailWriter) Write(p []byte) (int, error) {
	t.mu.Lock()
	t.tail = append(t.tail, p...)
	if over := len(t.tail) - t.max; over > 0 {
		t.tail = append(t.tail[:0], t.tail[over:]...)
	}
	t.mu.Unlock()
	if t.w != nil {
		// A failed write must not fail the process's pipe: the function
		// would die of it.
		t.w.Write(p)
	}
	return len(p), nil
}

// String returns the output kept so far.
func (t *tailWriter) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return string(t.tail)
}
