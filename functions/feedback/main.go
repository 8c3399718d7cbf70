// Command feedback is the Lambda function that consumes the SES feedback
// queue (fed by the feedback topic): it verifies each notification's
// signature, suppresses the addresses that bounced or complained, and
// reports only the records that failed back to the queue.
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
	a := app.Must(app.Load(context.Background(), os.Getenv, config.Feedback))
	lambda.Start(lambdaevents.Feedback(a.Feedback(), a.Log))
}
