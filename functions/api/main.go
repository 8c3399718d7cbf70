// Command api is the Lambda function behind the HTTP API: the net/http
// handlers of internal/api, adapted to API Gateway's payload v2.
package main

import (
	"context"
	"log/slog"
	"os"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/awslabs/aws-lambda-go-api-proxy/httpadapter"

	"github.com/radiogram/radiogram/internal/app"
	"github.com/radiogram/radiogram/internal/config"
)

func main() {
	ctx := context.Background()
	a, err := app.Load(ctx, os.Getenv, config.API)
	if err != nil {
		fail(err)
	}
	handler, err := a.APIHandler(ctx)
	if err != nil {
		fail(err)
	}
	lambda.Start(httpadapter.NewV2(handler).ProxyWithContext)
}

func fail(err error) {
	slog.Error("start", "err", err)
	os.Exit(1)
}
