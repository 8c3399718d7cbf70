package app

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/radiogram/radiogram/internal/delivery"
	"github.com/radiogram/radiogram/internal/digest"
)

// Every send record the ledger writes expires SendsRetentionDays (400 by
// default) after it was written, through the sends table's TTL, which the
// stack turns on.
func TestSendRecordsExpireAfterTheRetention(t *testing.T) {
	t.Parallel()
	fs := newFeedServer(t)
	a := newTestApp(t, fs.writeRegistry(t, testFeeds[:1]))
	ctx := context.Background()
	db := dynamodb.NewFromConfig(a.AWS)

	ttl, err := db.DescribeTimeToLive(ctx, &dynamodb.DescribeTimeToLiveInput{TableName: &a.Config.SendsTable})
	if err != nil {
		t.Fatal(err)
	}
	if d := ttl.TimeToLiveDescription; d.TimeToLiveStatus != types.TimeToLiveStatusEnabled || aws.ToString(d.AttributeName) != "expires_at" {
		t.Errorf("sends table TTL %s on %q, want ENABLED on expires_at", d.TimeToLiveStatus, aws.ToString(d.AttributeName))
	}
	const retention = 400 * 24 * time.Hour
	if a.Config.SendsRetention != retention {
		t.Fatalf("the stack gives a retention of %v, want 400 days", a.Config.SendsRetention)
	}

	entry := delivery.Entry{SubscriberID: "sub-ttl", Period: "2026-11-30", RunID: "run-ttl", Kind: digest.KindDigest, Status: delivery.LedgerSending}
	expiresAt := func(step string) time.Time {
		t.Helper()
		out, err := db.GetItem(ctx, &dynamodb.GetItemInput{
			TableName:      &a.Config.SendsTable,
			ConsistentRead: aws.Bool(true),
			Key: map[string]types.AttributeValue{
				"subscriber_id": &types.AttributeValueMemberS{Value: entry.SubscriberID},
				"period":        &types.AttributeValueMemberS{Value: entry.Period},
			},
		})
		if err != nil {
			t.Fatal(err)
		}
		n, ok := out.Item["expires_at"].(*types.AttributeValueMemberN)
		if !ok {
			t.Fatalf("after %s the record has expires_at %#v, want a number (TTL needs one)", step, out.Item["expires_at"])
		}
		secs, err := strconv.ParseInt(n.Value, 10, 64)
		if err != nil {
			t.Fatalf("after %s expires_at %q: %v", step, n.Value, err)
		}
		return time.Unix(secs, 0)
	}
	near := func(step string, got time.Time, from time.Time) {
		t.Helper()
		if want := from.Add(retention); got.Before(want.Add(-time.Minute)) || got.After(want.Add(time.Minute)) {
			t.Errorf("after %s expires_at %v, want about %v (written + 400 days)", step, got, want)
		}
	}

	claimed, _, err := a.Ledger.Claim(ctx, entry, time.Minute)
	if err != nil || !claimed {
		t.Fatalf("claim: %v, %v", claimed, err)
	}
	near("claim", expiresAt("claim"), time.Now())

	entry.Status, entry.MessageID = delivery.LedgerSent, "msg-ttl"
	if err := a.Ledger.Finish(ctx, entry); err != nil {
		t.Fatal(err)
	}
	near("finish", expiresAt("finish"), time.Now())
}
