// Command echo is a Lambda function for lambdalocal's tests. It answers with
// its event, unless the event asks for something else:
//
//	{"fail": "msg"}        return an *echoError with that message
//	{"panic": "msg"}       panic with that message
//	{"stream": "text"}     answer with the raw text, streamed
//	{"streamFail": "msg"}  stream some text, then fail with an *echoError
//	{"env": true}          answer with the environment and working directory
//	{"context": true}      answer with what aws-lambda-go read from the headers
//	{"sleep": "5s"}        sleep that long, then answer
//	{"exit": 3}            exit with that status
//
// Before it starts, it writes its pid to $PID_FILE if that is set, and
// sleeps for $ECHO_INIT_SLEEP if that is set.
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"testing/iotest"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"
)

type request struct {
	Fail       string `json:"fail"`
	Panic      string `json:"panic"`
	Stream     string `json:"stream"`
	StreamFail string `json:"streamFail"`
	Env        bool   `json:"env"`
	Context    bool   `json:"context"`
	Sleep      string `json:"sleep"`
	Exit       *int   `json:"exit"`
}

type echoError struct{ msg string }

func (e *echoError) Error() string { return e.msg }

func handle(ctx context.Context, event json.RawMessage) (any, error) {
	var req request
	_ = json.Unmarshal(event, &req) // an event that is not an object is echoed
	if req.Sleep != "" {
		d, err := time.ParseDuration(req.Sleep)
		if err != nil {
			return nil, err
		}
		time.Sleep(d)
	}
	switch {
	case req.Fail != "":
		return nil, &echoError{req.Fail}
	case req.Panic != "":
		panic(req.Panic)
	case req.Stream != "":
		// aws-lambda-go sends an io.Reader as the body, unencoded.
		return strings.NewReader(req.Stream), nil
	case req.StreamFail != "":
		return io.MultiReader(strings.NewReader("partial"), iotest.ErrReader(&echoError{req.StreamFail})), nil
	case req.Exit != nil:
		fmt.Fprintf(os.Stderr, "echo: exiting with %d\n", *req.Exit)
		os.Exit(*req.Exit)
	case req.Env:
		wd, _ := os.Getwd()
		return map[string]any{"environ": os.Environ(), "wd": wd}, nil
	case req.Context:
		lc, _ := lambdacontext.FromContext(ctx)
		deadline, _ := ctx.Deadline()
		return map[string]any{
			"requestId":    lc.AwsRequestID,
			"functionArn":  lc.InvokedFunctionArn,
			"deadlineMs":   deadline.UnixMilli(),
			"traceId":      os.Getenv("_X_AMZN_TRACE_ID"),
			"functionName": lambdacontext.FunctionName,
			"version":      lambdacontext.FunctionVersion,
			"memoryMB":     lambdacontext.MemoryLimitInMB,
		}, nil
	}
	return event, nil
}

func main() {
	if path := os.Getenv("PID_FILE"); path != "" {
		if err := os.WriteFile(path, []byte(strconv.Itoa(os.Getpid())), 0o644); err != nil {
			fmt.Fprintln(os.Stderr, "echo:", err)
			os.Exit(1)
		}
	}
	if d, err := time.ParseDuration(os.Getenv("ECHO_INIT_SLEEP")); err == nil {
		time.Sleep(d)
	}
	fmt.Fprintln(os.Stderr, "echo: init")
	lambda.Start(handle)
}
