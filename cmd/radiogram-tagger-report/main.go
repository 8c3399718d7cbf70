// Command radiogram-tagger-report prints how the topic tagger does against
// every admin correction in the store the environment configures, and
// against the labelled corpus (`make tagger-report`; see package
// taggerreport).
package main

import (
	"context"
	"fmt"
	"os"

	"github.com/radiogram/radiogram/internal/app"
)

func main() {
	if err := app.TaggerReport(context.Background(), os.Getenv, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "radiogram-tagger-report:", err)
		os.Exit(1)
	}
}
