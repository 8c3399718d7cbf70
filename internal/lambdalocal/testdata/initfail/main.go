// Command initfail fails its initialization, for lambdalocal's tests. Unless
// INITFAIL_CONFIG is set, it does what the real functions do on bad
// configuration: logs and exits 1 before it calls lambda.Start. With
// INITFAIL_POST set it reports the failure to the Runtime API's init/error
// endpoint instead, as other runtimes do, and then waits to be stopped.
// It writes its pid to $PID_FILE if that is set.
package main

import (
	"log/slog"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
)

func main() {
	if path := os.Getenv("PID_FILE"); path != "" {
		os.WriteFile(path, []byte(strconv.Itoa(os.Getpid())), 0o644)
	}
	if os.Getenv("INITFAIL_POST") != "" {
		postInitError()
		time.Sleep(time.Hour)
	}
	if os.Getenv("INITFAIL_CONFIG") == "" {
		slog.Error("start", "err", "INITFAIL_CONFIG is not set")
		os.Exit(1)
	}
	lambda.Start(func() error { return nil })
}

func postInitError() {
	url := "http://" + os.Getenv("AWS_LAMBDA_RUNTIME_API") + "/2018-06-01/runtime/init/error"
	body := `{"errorMessage":"bad config","errorType":"Runtime.ConfigError"}`
	resp, err := http.Post(url, "application/json", strings.NewReader(body))
	if err != nil {
		slog.Error("post init error", "err", err)
		os.Exit(2)
	}
	resp.Body.Close()
}
