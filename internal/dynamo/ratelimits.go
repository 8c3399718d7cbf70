package dynamo

import (
	"context"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/radiogram/radiogram/internal/subscribers"
)

// RateLimiter counts events per key in fixed windows, in a table whose
// records expire through DynamoDB's TTL.
type RateLimiter struct {
	db    API
	table string
	now   func() time.Time
}

// NewRateLimiter returns a limiter over the named table.
func NewRateLimiter(db API, table string, now func() time.Time) *RateLimiter {
	return &RateLimiter{db: db, table: table, now: now}
}

var _ subscribers.RateLimiter = (*RateLimiter)(nil)

// Allow counts one event and reports whether the key is still within limit
// for the current window. The count and the check are one conditional
// write, so concurrent requests cannot slip past the limit.
func (l *RateLimiter) Allow(ctx context.Context, key string, limit int, window time.Duration) (bool, error) {
	start := l.now().Truncate(window)
	_, err := l.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                &l.table,
		Key:                      stringKey("key", fmt.Sprintf("%s#%d", key, start.Unix())),
		UpdateExpression:         aws.String("ADD #count :one SET expires_at = :expires"),
		ConditionExpression:      aws.String("attribute_not_exists(#count) OR #count < :limit"),
		ExpressionAttributeNames: map[string]string{"#count": "count"},
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":one":     &types.AttributeValueMemberN{Value: "1"},
			":limit":   &types.AttributeValueMemberN{Value: fmt.Sprint(limit)},
			":expires": &types.AttributeValueMemberN{Value: fmt.Sprint(start.Add(2 * window).Unix())},
		},
	})
	if isConditionFailed(err) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("rate limit %s: %w", key, err)
	}
	return true, nil
}
