// Command api is the Lambda function behind the HTTP API: the net/http
// handlers of internal/api, adapted to API Gateway's payload v2.
package main

import (
	"context"
	"os"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/awslabs/aws-lambda-go-api-proxy/httpadapter"

	"github.com/radiogram/radiogram/internal/app"
	"github.com/radiogram/radiogram/internal/config"
)

func main() {
	ctx := context.Background()
	a := app.Must(app.Load(ctx, os.Getenv, config.API))
	lambda.Start(httpadapter.NewV2(app.Must(a.APIHandler(ctx))).ProxyWithContext)
}
