// Command feedback is the Lambda function subscribed to the SES feedback
// topic: it verifies each notification's signature and suppresses the
// addresses that bounced or complained.
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
	a, err := app.Load(context.Background(), os.Getenv, config.Feedback)
	if err != nil {
		slog.Error("start", "err", err)
		os.Exit(1)
	}
	lambda.Start(lambdaevents.Feedback(a.Feedback(), a.Log))
}
