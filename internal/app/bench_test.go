package app

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/smithy-go/middleware"

	"github.com/radiogram/radiogram/internal/dynamo"
	"github.com/radiogram/radiogram/internal/ingest"
)

// callCounter counts DynamoDB operations by name on a real client.
type callCounter struct {
	mu    sync.Mutex
	calls map[string]int
}

func (c *callCounter) option(o *dynamodb.Options) {
	o.APIOptions = append(o.APIOptions, func(stack *middleware.Stack) error {
		return stack.Initialize.Add(middleware.InitializeMiddlewareFunc("count-calls",
			func(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
				c.mu.Lock()
				c.calls[awsmiddleware.GetOperationName(ctx)]++
				c.mu.Unlock()
				return next.HandleInitialize(ctx, in)
			}), middleware.After)
	})
}

func (c *callCounter) sum(ops ...string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for _, op := range ops {
		n += c.calls[op]
	}
	return n
}

// BenchmarkIngestRun measures a scheduled run over 4 society feeds of 25
// items each, all new in every iteration, against moto: DynamoDB write and
// read requests per new item, and items stored per second (moto's speed
// dominates the latter; DynamoDB itself is far faster).
func BenchmarkIngestRun(b *testing.B) {
	const feedsN, itemsPerFeed = 4, 25
	var round atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/rss+xml")
		fmt.Fprintf(w, `<?xml version="1.0"?><rss version="2.0"><channel><title>%s</title><link>https://example.org/</link>`, r.URL.Path)
		for i := range itemsPerFeed {
			fmt.Fprintf(w, `<item><guid>%s-%d-%d</guid><title>Screening guideline update %d</title><link>https://example.org/n/%d</link><description>The society publishes recommendations on lung cancer screening with low-dose CT and AI support.</description></item>`,
				r.URL.Path, round.Load(), i, i, i)
		}
		fmt.Fprint(w, `</channel></rss>`)
	}))
	defer srv.Close()
	fs := &feedServer{Server: srv}
	var defs []feedDef
	for i := range feedsN {
		defs = append(defs, feedDef{society: fmt.Sprintf("soc%d", i), path: fmt.Sprintf("/feed%d", i)})
	}
	a := newTestApp(b, fs.writeRegistry(b, defs))
	counter := &callCounter{calls: map[string]int{}}
	db := dynamodb.NewFromConfig(a.AWS, counter.option)
	a.Ingest.Feeds = dynamo.NewFeedStore(db, a.Config.FeedsTable)
	a.Ingest.Items = dynamo.NewItemStore(db, a.Config.ItemsTable)
	ctx := context.Background()
	if _, err := a.Ingest.Run(ctx, ingest.TriggerManual); err != nil { // seed the registry
		b.Fatal(err)
	}
	counter.calls = map[string]int{}

	newItems := 0
	start := time.Now()
	b.ResetTimer()
	for b.Loop() {
		round.Add(1)
		sum, err := a.Ingest.Run(ctx, ingest.TriggerManual)
		if err != nil {
			b.Fatal(err)
		}
		if sum.ItemsNew != feedsN*itemsPerFeed {
			b.Fatalf("%d new items, want %d: %+v", sum.ItemsNew, feedsN*itemsPerFeed, sum)
		}
		newItems += sum.ItemsNew
	}
	elapsed := time.Since(start)
	writes := counter.sum("PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem")
	reads := counter.sum("GetItem", "BatchGetItem", "Query", "Scan")
	b.ReportMetric(float64(writes)/float64(newItems), "writes/new-item")
	b.ReportMetric(float64(reads)/float64(newItems), "reads/new-item")
	b.ReportMetric(float64(newItems)/elapsed.Seconds(), "items/s")
	b.Logf("DynamoDB calls over %d new items: %v", newItems, strings.ReplaceAll(fmt.Sprint(counter.calls), "map", ""))
}
