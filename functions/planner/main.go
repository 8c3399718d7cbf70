// Command planner is the hourly Lambda function that finds the subscribers
// whose digest is due and queues their jobs.
package main

import (
	"context"
	"os"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/radiogram/radiogram/internal/app"
	"github.com/radiogram/radiogram/internal/config"
)

func main() {
	a := app.Must(app.Load(context.Background(), os.Getenv, config.Planner))
	lambda.Start(a.PlanSchedule)
}
