package lambdalocal

import (
	"encoding/base64"
	"io"
	"net/http"
	"strconv"
	"time"
)

// The Runtime API's paths, as the runtime reaches them at
// AWS_LAMBDA_RUNTIME_API. Any other path, such as the Extensions API that
// aws-lambda-go's SIGTERM option registers with, answers 404, which the
// runtime logs and carries on past.
const (
	pathNext      = "GET /2018-06-01/runtime/invocation/next"
	pathResponse  = "POST /2018-06-01/runtime/invocation/{id}/response"
	pathError     = "POST /2018-06-01/runtime/invocation/{id}/error"
	pathInitError = "POST /2018-06-01/runtime/init/error"
)

// Headers of the Runtime API that aws-lambda-go reads or sends.
const (
	headerRequestID   = "Lambda-Runtime-Aws-Request-Id"
	headerDeadline    = "Lambda-Runtime-Deadline-Ms"
	headerFunctionARN = "Lambda-Runtime-Invoked-Function-Arn"
	headerTraceID     = "Lambda-Runtime-Trace-Id"
	headerErrorType   = "Lambda-Runtime-Function-Error-Type"
	// A streamed response that fails midway reports its error in trailers.
	trailerErrorType = "Lambda-Runtime-Function-Error-Type"
	trailerErrorBody = "Lambda-Runtime-Function-Error-Body"
)

func (f *Function) runtimeAPI() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc(pathNext, f.serveNext)
	mux.HandleFunc(pathResponse, f.serveResponse)
	mux.HandleFunc(pathError, f.serveError)
	mux.HandleFunc(pathInitError, f.serveInitError)
	return mux
}

// serveNext blocks until Invoke has an event for the process. The first
// request marks the end of the process's initialization.
func (f *Function) serveNext(w http.ResponseWriter, r *http.Request) {
	f.readyOnce.Do(func() {
		f.initDuration = time.Since(f.started)
		close(f.ready)
	})
	select {
	case inv := <-f.next:
		f.mu.Lock()
		f.pending[inv.id] = inv
		f.mu.Unlock()
		h := w.Header()
		h.Set(headerRequestID, inv.id)
		h.Set(headerDeadline, strconv.FormatInt(inv.deadline.UnixMilli(), 10))
		h.Set(headerFunctionARN, f.arn)
		h.Set(headerTraceID, inv.traceID)
		h.Set("Content-Type", "application/json")
		// Should the process be gone, Invoke learns it from the exit.
		w.Write(inv.event)
	case <-r.Context().Done():
	case <-f.closed:
		http.Error(w, "function is closed", http.StatusServiceUnavailable)
	}
}

func (f *Function) serveResponse(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		http.Error(w, "read response: "+err.Error(), http.StatusBadRequest)
		return
	}
	inv := f.answered(r.PathValue("id"))
	if inv == nil {
		http.Error(w, "unknown request id", http.StatusBadRequest)
		return
	}
	res := Result{Payload: body}
	// The trailers are there once the body has been read to its end.
	if typ := r.Trailer.Get(trailerErrorType); typ != "" {
		raw, _ := base64.StdEncoding.DecodeString(r.Trailer.Get(trailerErrorBody))
		res.Error = parseFunctionError(raw, typ)
	}
	inv.result <- res
	w.WriteHeader(http.StatusAccepted)
}

func (f *Function) serveError(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		http.Error(w, "read error: "+err.Error(), http.StatusBadRequest)
		return
	}
	inv := f.answered(r.PathValue("id"))
	if inv == nil {
		http.Error(w, "unknown request id", http.StatusBadRequest)
		return
	}
	inv.result <- Result{Error: parseFunctionError(body, r.Header.Get(headerErrorType))}
	w.WriteHeader(http.StatusAccepted)
}

func (f *Function) serveInitError(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		http.Error(w, "read error: "+err.Error(), http.StatusBadRequest)
		return
	}
	if isClosed(f.ready) {
		// As in Lambda: init is over once the runtime asked for an event.
		http.Error(w, "init is over", http.StatusForbidden)
		return
	}
	select {
	case f.initError <- body:
	default: // Start acts on the first one
	}
	w.WriteHeader(http.StatusAccepted)
}

// answered removes and returns the pending invocation id, or nil if there
// is none: each invocation takes exactly one answer.
func (f *Function) answered(id string) *invocation {
	f.mu.Lock()
	defer f.mu.Unlock()
	inv := f.pending[id]
	delete(f.pending, id)
	return inv
}
