// Command sender is the Lambda function that consumes the send queue: it
// renders and mails each job, reporting only the failed records back.
package main

import (
	"context"
	"log/slog"
	"os"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/radiogram/radiogram/internal/app"
	"github.com/radiogram/radiogram/internal/config"
	"github.com/radiogram/radiogram/internal/lambdaevents"
)

func main() {
	ctx := context.Background()
	a, err := app.Load(ctx, os.Getenv, config.Sender)
	if err != nil {
		fail(err)
	}
	sender, err := a.Sender(ctx)
	if err != nil {
		fail(err)
	}
	lambda.Start(lambdaevents.SendJobs(sender, a.Log))
}

func fail(err error) {
	slog.Error("start", "err", err)
	os.Exit(1)
}
