// Package dynamo is the DynamoDB adapter: the stores of feeds, items,
// subscribers, suppressions, sign-up rate limits, the send ledger and the
// admin records, each over its table in template.yaml. Nothing outside it
// speaks DynamoDB.
package dynamo

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// API is the part of the DynamoDB client the stores use.
type API interface {
	GetItem(context.Context, *dynamodb.GetItemInput, ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error)
	PutItem(context.Context, *dynamodb.PutItemInput, ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error)
	UpdateItem(context.Context, *dynamodb.UpdateItemInput, ...func(*dynamodb.Options)) (*dynamodb.UpdateItemOutput, error)
	BatchGetItem(context.Context, *dynamodb.BatchGetItemInput, ...func(*dynamodb.Options)) (*dynamodb.BatchGetItemOutput, error)
	Query(context.Context, *dynamodb.QueryInput, ...func(*dynamodb.Options)) (*dynamodb.QueryOutput, error)
	Scan(context.Context, *dynamodb.ScanInput, ...func(*dynamodb.Options)) (*dynamodb.ScanOutput, error)
}

func isConditionFailed(err error) bool {
	var ccf *types.ConditionalCheckFailedException
	return errors.As(err, &ccf)
}

// timeAttr stores times as RFC 3339 strings, which sort as they compare;
// a zero time is stored as "" so that it reads back as zero.
func timeAttr(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339Nano)
}

func parseTime(s string) time.Time {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}
	}
	return t
}

// sortableTime is fixed-width, so that index sort keys order correctly even
// where RFC3339Nano would drop trailing zeros.
func sortableTime(t time.Time) string {
	return t.UTC().Format("2006-01-02T15:04:05.000000000Z")
}

// backoff waits before retrying unprocessed batch keys, as the SDK advises.
func backoff(ctx context.Context, attempt int) error {
	d := time.Duration(50<<min(attempt, 6))*time.Millisecond + rand.N(50*time.Millisecond)
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(d):
		return nil
	}
}

// setExpression builds "SET #f0 = :f0, ..." for fields, naming every
// attribute through a placeholder so that none can collide with DynamoDB's
// long list of reserved words (status, name, timezone, ...).
func setExpression(fields map[string]any) (string, map[string]string, map[string]types.AttributeValue, error) {
	names := make(map[string]string, len(fields))
	values := make(map[string]types.AttributeValue, len(fields))
	parts := make([]string, 0, len(fields))
	for i, attr := range slices.Sorted(maps.Keys(fields)) {
		v := fields[attr]
		av, ok := v.(types.AttributeValue)
		if !ok {
			var err error
			if av, err = attributevalue.Marshal(v); err != nil {
				return "", nil, nil, fmt.Errorf("encode %s: %w", attr, err)
			}
		}
		name, value := fmt.Sprintf("#f%d", i), fmt.Sprintf(":f%d", i)
		names[name], values[value] = attr, av
		parts = append(parts, name+" = "+value)
	}
	return "SET " + strings.Join(parts, ", "), names, values, nil
}

// batchGet reads items by key in batches of 100, retrying the keys
// DynamoDB leaves unprocessed with backoff.
func batchGet(ctx context.Context, db API, table string, keys []map[string]types.AttributeValue, projection string) ([]map[string]types.AttributeValue, error) {
	var out []map[string]types.AttributeValue
	for chunk := range slices.Chunk(keys, 100) {
		req := types.KeysAndAttributes{Keys: chunk, ConsistentRead: aws.Bool(true)}
		if projection != "" {
			req.ProjectionExpression = &projection
		}
		pending := map[string]types.KeysAndAttributes{table: req}
		for attempt := 0; len(pending) > 0; attempt++ {
			if attempt > 0 {
				if attempt > 8 {
					return nil, fmt.Errorf("batch get from %s: keys still unprocessed after %d attempts", table, attempt)
				}
				if err := backoff(ctx, attempt); err != nil {
					return nil, err
				}
			}
			resp, err := db.BatchGetItem(ctx, &dynamodb.BatchGetItemInput{RequestItems: pending})
			if err != nil {
				return nil, fmt.Errorf("batch get from %s: %w", table, err)
			}
			out = append(out, resp.Responses[table]...)
			pending = resp.UnprocessedKeys
		}
	}
	return out, nil
}

func stringKey(name, value string) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{name: &types.AttributeValueMemberS{Value: value}}
}

// newSuffix makes keys that share a time unique.
func newSuffix() string {
	return fmt.Sprintf("%08x", rand.Uint32())
}
