// Command ingest is the scheduled Lambda function that pulls the society
// feeds into DynamoDB.
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
	lambda.Start(lambdaevents.Ingest(a.Ingest))
}
