// Command planner is the Lambda function that plans sends: hourly, it
// queues the shards of the due hour on the plan queue; from that queue it
// plans each shard (due digests, alerts, admin sends) and queues the jobs.
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
	lambda.Start(a.PlannerHandler())
}
