package app

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/radiogram/radiogram/internal/dynamo"
	"github.com/radiogram/radiogram/internal/feeds"
	"github.com/radiogram/radiogram/internal/items"
)

// BenchmarkAdminItems measures GET /admin/items and a feed out with as
// many feeds registered as the production registry had (2,945) and 600
// items, on moto: the listing reads only the items' indexes, while the
// "feeds scan (before)" case is what every listing used to cost before it
// could even start (a scan of the feeds table for the societies).
//
//	go test -run '^$' -bench BenchmarkAdminItems -benchtime 5x ./internal/app/
func BenchmarkAdminItems(b *testing.B) {
	const feedsN, itemsN = 2945, 600
	fs := newFeedServer(b)
	a := newTestApp(b, fs.writeRegistry(b, testFeeds[:1]))
	ctx := context.Background()
	work := make(chan int)
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for i := range work {
				soc := fmt.Sprintf("soc%04d", i%feedsN)
				if i < feedsN {
					if err := a.Feeds.Create(ctx, feeds.Feed{ID: fmt.Sprintf("%s-%d", soc, i), Society: soc, Name: soc, URL: fmt.Sprintf("https://example.org/%d", i), Enabled: true}); err != nil {
						b.Error(err)
					}
				}
				if i < itemsN {
					pub := time.Now().Add(-time.Duration(i) * time.Hour)
					it := items.Item{Key: items.KeyFor(soc, fmt.Sprint(i)), Society: soc, FeedID: soc + "-1", GUID: fmt.Sprint(i), Title: fmt.Sprint("Item ", i),
						Link: fmt.Sprintf("https://example.org/n/%d", i), Published: pub, FirstSeen: pub, Summary: "Screening update.",
						Topics: []items.TopicScore{{ID: []string{"ai", "cancer", "ultrasound"}[i%3], Score: 2}}}
					if _, err := a.Items.Create(ctx, it); err != nil {
						b.Error(err)
					}
				}
			}
		})
	}
	for i := range max(feedsN, itemsN) {
		work <- i
	}
	close(work)
	wg.Wait()
	counter := &callCounter{calls: map[string]int{}}
	db := dynamodb.NewFromConfig(a.AWS, counter.option)
	a.Items = dynamo.NewItemStore(db, a.Config.ItemsTable)
	a.Feeds = dynamo.NewFeedStore(db, a.Config.FeedsTable)
	srv := newTestAPI(b, a)

	get := func(b *testing.B, path string) {
		req, _ := http.NewRequest("GET", srv.URL+path, nil)
		req.Header.Set("Authorization", "Bearer "+testAdminToken)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			b.Fatalf("%s: %d", path, resp.StatusCode)
		}
	}
	for _, bc := range []struct {
		name string
		run  func(b *testing.B)
	}{
		{"everything", func(b *testing.B) { get(b, "/admin/items?limit=50") }},
		{"topic", func(b *testing.B) { get(b, "/admin/items?limit=50&topic=cancer") }},
		{"society", func(b *testing.B) { get(b, "/admin/items?limit=50&society=soc0001") }},
		{"feed out all.atom", func(b *testing.B) { get(b, "/feeds/all.atom") }},
		{"feeds scan (before)", func(b *testing.B) {
			if _, err := a.Feeds.Societies(ctx); err != nil {
				b.Fatal(err)
			}
		}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			counter.calls = map[string]int{}
			for b.Loop() {
				bc.run(b)
			}
			b.ReportMetric(float64(counter.sum("Scan"))/float64(b.N), "scans/op")
			b.ReportMetric(float64(counter.sum("Query", "BatchGetItem", "GetItem"))/float64(b.N), "reads/op")
			b.Logf("DynamoDB calls: %v", strings.ReplaceAll(fmt.Sprint(counter.calls), "map", ""))
		})
	}
}
