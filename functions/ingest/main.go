// Command ingest is the Lambda function that pulls the society feeds into
// DynamoDB: on its schedule, and for each ingest run an admin queued on the
// ingest queue, one run at a time.
package main

import (
	"context"
	"os"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/radiogram/radiogram/internal/app"
	"github.com/radiogram/radiogram/internal/config"
	"github.com/radiogram/radiogram/internal/lambdaevents"
)

func main() {
	a := app.Must(app.Load(context.Background(), os.Getenv, config.Ingest))
	lambda.Start(lambdaevents.IngestFunction(a.IngestRuns(), a.Log))
}
