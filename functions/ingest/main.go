// Command ingest is the scheduled Lambda function that pulls the society
// feeds into DynamoDB.
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
	a, err := app.Load(context.Background(), os.Getenv, config.Ingest)
	if err != nil {
		slog.Error("start", "err", err)
		os.Exit(1)
	}
	lambda.Start(lambdaevents.Ingest(a.Ingest))
}
