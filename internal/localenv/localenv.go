// Package localenv owns the local AWS stand-in used by `make run` and the
// integration tests: a moto_server, the whole stack deployed into it from
// template.yaml, and the environment each of the stack's functions runs
// with, as moto's Lambda reports it.
package localenv

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
)

// Region is the AWS region the local stack lives in; moto accepts any, the
// clients only have to agree with the deployment.
const Region = "us-east-1"

// Env is a running local AWS environment with the stack deployed.
type Env struct {
	// Endpoint is the base URL every AWS client should use, e.g.
	// http://127.0.0.1:41234. Any credentials are accepted.
	Endpoint string
	// Outputs are the stack outputs (table names, queue URLs...), keyed by
	// OutputKey as in template.yaml.
	Outputs map[string]string
	// Functions are the stack's Lambda functions by logical id.
	Functions map[string]Function
	StackName string
	Region    string

	moto      *motoServer // nil when Options.Endpoint was given
	closeOnce sync.Once
	closeErr  error
}

// Options tune Start. The zero value starts a fresh moto_server and deploys
// a stack with a random name into it.
type Options struct {
	// Endpoint is the URL of a moto server to deploy into instead of
	// starting one; Close then leaves that server running.
	Endpoint string
	// StackName names the CloudFormation stack, and through it the tables;
	// "" picks a random "rg-xxxxxx" so that environments sharing a server
	// do not see each other's data.
	StackName string
	// Parameters are template parameters' values (PublicBaseUrl, MailFrom,
	// ...); the rest keep their defaults.
	Parameters map[string]string
	// Log receives moto_server's output; nil discards it.
	Log io.Writer
}

// Function is one of the stack's Lambda functions as moto's Lambda holds it.
type Function struct {
	Name string `json:"name"`
	// Environment is what GetFunctionConfiguration reports: what the
	// template gives the function, resolved.
	Environment map[string]string `json:"environment"`
}

// FunctionEnv is the environment the function with the logical id runs with
// locally: its own from the stack, plus the endpoint and region of this moto,
// the only things a local run adds. Nil if the stack has no such function.
func (e *Env) FunctionEnv(logicalID string) map[string]string {
	fn, ok := e.Functions[logicalID]
	if !ok {
		return nil
	}
	env := maps.Clone(fn.Environment)
	env["RADIOGRAM_AWS_ENDPOINT"] = e.Endpoint
	env["AWS_REGION"] = e.Region
	return env
}

// CombinedEnv is the environment of one process doing every function's job
// (`make run`, the integration tests): the union of the functions'
// environments, which must agree wherever two set the same variable.
func (e *Env) CombinedEnv() (map[string]string, error) {
	env := map[string]string{}
	for _, id := range slices.Sorted(maps.Keys(e.Functions)) {
		for k, v := range e.FunctionEnv(id) {
			if v == "" {
				continue // unset, as config reads it
			}
			if old, ok := env[k]; ok && old != v {
				return nil, fmt.Errorf("stack %s: functions disagree on %s (%q, %q from %s)", e.StackName, k, old, v, id)
			}
			env[k] = v
		}
	}
	return env, nil
}

// Start starts moto_server on a free 127.0.0.1 port (unless
// Options.Endpoint is set), waits until it answers, deploys the stack with
// infra/local_stack.py, and returns. ctx bounds the start-up only; the
// server runs until Close.
func Start(ctx context.Context, opts Options) (*Env, error) {
	root, err := RepoRoot()
	if err != nil {
		return nil, err
	}
	env := &Env{
		Endpoint:  strings.TrimSuffix(opts.Endpoint, "/"),
		StackName: opts.StackName,
		Region:    Region,
	}
	if env.StackName == "" {
		env.StackName = randomStackName()
	}

	if env.Endpoint == "" {
		env.moto, err = startMoto(ctx, opts.Log)
		if err != nil {
			return nil, err
		}
		env.Endpoint = env.moto.endpoint
	} else if err := waitReady(ctx, env.Endpoint, nil); err != nil {
		return nil, err
	}

	deployed, err := deployStack(ctx, root, env.Endpoint, env.StackName, opts.Parameters)
	if err != nil {
		return nil, errors.Join(err, env.Close())
	}
	env.Outputs, env.Functions = deployed.Outputs, deployed.Functions
	return env, nil
}

// Close stops the moto_server Start started, if any. It is safe to call
// more than once.
func (e *Env) Close() error {
	e.closeOnce.Do(func() {
		if e.moto != nil {
			e.closeErr = e.moto.stop()
		}
	})
	return e.closeErr
}

// RepoRoot finds the directory holding go.mod and template.yaml by walking
// up from the working directory (tests run in their package directory).
func RepoRoot() (string, error) {
	wd, err := os.Getwd()
	if err != nil {
		return "", fmt.Errorf("find repository root: %w", err)
	}
	for dir := wd; ; dir = filepath.Dir(dir) {
		if isFile(filepath.Join(dir, "go.mod")) && isFile(filepath.Join(dir, "template.yaml")) {
			return dir, nil
		}
		if parent := filepath.Dir(dir); parent == dir {
			return "", fmt.Errorf("find repository root: no directory with go.mod and template.yaml above %s", wd)
		}
	}
}

func isFile(path string) bool {
	info, err := os.Stat(path)
	return err == nil && info.Mode().IsRegular()
}

func randomStackName() string {
	var b [3]byte
	rand.Read(b[:]) // never fails: crypto/rand.Read panics instead
	return "rg-" + hex.EncodeToString(b[:])
}

// deployment is what infra/local_stack.py prints once the stack is up.
type deployment struct {
	Outputs   map[string]string   `json:"outputs"`
	Functions map[string]Function `json:"functions"`
}

// deployStack runs infra/local_stack.py.
func deployStack(ctx context.Context, root, endpoint, stack string, params map[string]string) (deployment, error) {
	args := []string{filepath.Join(root, "infra", "local_stack.py"),
		"--endpoint", endpoint,
		"--stack", stack,
		"--template", filepath.Join(root, "template.yaml"),
		"--region", Region,
	}
	for _, k := range slices.Sorted(maps.Keys(params)) {
		args = append(args, "--parameter", k+"="+params[k])
	}
	cmd := exec.CommandContext(ctx, "python3", args...)
	cmd.Dir = root
	var stdout, stderr bytes.Buffer
	cmd.Stdout = &stdout
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		return deployment{}, fmt.Errorf("deploy stack %s to %s: %w: %s", stack, endpoint, err, strings.TrimSpace(stderr.String()))
	}
	var d deployment
	if err := json.Unmarshal(stdout.Bytes(), &d); err != nil {
		return deployment{}, fmt.Errorf("deploy stack %s: read outputs %q: %w", stack, stdout.String(), err)
	}
	return d, nil
}
