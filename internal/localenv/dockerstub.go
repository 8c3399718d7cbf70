package localenv

import (
	"net"
	"net/http"
)

// dockerStub answers the Docker Engine API's version probe, and refuses
// everything else. moto reaches for a Docker client whenever it lists a
// Lambda function's attributes, as its state dump (/moto-api/data.json,
// where the sent mail is read) does: with no Docker on this machine the dump
// fails whole. The stub lets the client be made; moto never runs a function
// here, because nothing invokes one through it (see infra/local_stack.py).
type dockerStub struct {
	srv *http.Server
	ln  net.Listener
}

func startDockerStub() (*dockerStub, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /version", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(`{"ApiVersion":"1.41","Version":"stub (no Docker here)","Os":"linux"}`))
	})
	mux.HandleFunc("/", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusNotImplemented)
		w.Write([]byte(`{"message":"no Docker engine here: local runs invoke functions outside moto"}`))
	})
	s := &dockerStub{srv: &http.Server{Handler: mux}, ln: ln}
	go s.srv.Serve(ln)
	return s, nil
}

// host is the DOCKER_HOST that points a Docker client at the stub.
func (s *dockerStub) host() string { return "tcp://" + s.ln.Addr().String() }

func (s *dockerStub) close() { s.srv.Close() }
