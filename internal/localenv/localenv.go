// Package localenv owns the local AWS stand-in used by `make run` and the
// integration tests: a moto_server and the stack deployed into it from
// template.yaml.
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
	"os"
	"os/exec"
	"path/filepath"
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
	// Outputs are the stack outputs that exist locally (table names, queue
	// URLs...), keyed by OutputKey as in template.yaml.
	Outputs   map[string]string
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
	// Log receives moto_server's output; nil discards it.
	Log io.Writer
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

	env.Outputs, err = deployStack(ctx, root, env.Endpoint, env.StackName)
	if err != nil {
		return nil, errors.Join(err, env.Close())
	}
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

// deployStack runs infra/local_stack.py, which prints the stack outputs as
// one JSON object.
func deployStack(ctx context.Context, root, endpoint, stack string) (map[string]string, error) {
	cmd := exec.CommandContext(ctx, "python3", filepath.Join(root, "infra", "local_stack.py"),
		"--endpoint", endpoint,
		"--stack", stack,
		"--template", filepath.Join(root, "template.yaml"),
		"--region", Region,
	)
	cmd.Dir = root
	var stdout, stderr bytes.Buffer
	cmd.Stdout = &stdout
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("deploy stack %s to %s: %w: %s", stack, endpoint, err, strings.TrimSpace(stderr.String()))
	}
	var outputs map[string]string
	if err := json.Unmarshal(stdout.Bytes(), &outputs); err != nil {
		return nil, fmt.Errorf("deploy stack %s: read outputs %q: %w", stack, stdout.String(), err)
	}
	return outputs, nil
}
