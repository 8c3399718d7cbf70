// Command inbound is the Lambda function of the SES receipt rule for the
// inbound unsubscribe address: it unsubscribes the sender of each mail
// whose subject carries the sender's own signed unsubscribe token (the
// List-Unsubscribe mailto), and logs and drops every other mail.
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
	ctx := context.Background()
	a := app.Must(app.Load(ctx, os.Getenv, config.Inbound))
	lambda.Start(lambdaevents.Inbound(app.Must(a.Inbound(ctx)), a.Log))
}
