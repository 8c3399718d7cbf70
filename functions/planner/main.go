// Command planner is the hourly Lambda function that finds the subscribers
// whose digest is due and queues their jobs.
package main

import (
	"context"
	"log/slog"
	"os"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/radiogram/radiogram/internal/app"
	"github.com/radiogram/radiogram/internal/config"
)

func main() {
	a, err := app.Load(context.Background(), os.Getenv, config.Planner)
	if err != nil {
		slog.Error("start", "err", err)
		os.Exit(1)
	}
	lambda.Start(a.PlanSchedule)
}
