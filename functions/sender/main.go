// Command sender is the Lambda function that consumes the send queue: it
// renders and mails each job, and handles each subscriber request (the
// sign-up, manage and data-link mails), reporting only the failed records
// back.
package main

import (
	"context"
	"os"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/radiogram/radiogram/internal/app"
	"github.com/radiogram/radiogram/internal/config"
)

func main() {
	ctx := context.Background()
	a := app.Must(app.Load(ctx, os.Getenv, config.Sender))
	lambda.Start(app.Must(a.SendHandler(ctx)))
}
