package dynamo

import (
	"context"
	"fmt"
	"slices"

	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/radiogram/radiogram/internal/subscribers"
)

// maxBatchWrite is DynamoDB's limit of requests in one BatchWriteItem.
const maxBatchWrite = 25

// Import writes subscribers in bulk, for seeding: tests, benchmarks and
// migrations. Each subscriber gets its record, with the planner's index
// keys as Update would set them, and its address claim.
//
// Unlike Create, Import does not check that an address is free: it
// overwrites whatever holds the same id or address, and a batch that names
// one address twice fails. It must not serve sign-ups.
func (st *SubscriberStore) Import(ctx context.Context, subs []subscribers.Subscriber) error {
	writes := make([]types.WriteRequest, 0, 2*len(subs))
	for _, s := range subs {
		r := toSubscriberRecord(s)
		keys := indexKeys(s)
		r.DueSlot, r.ActiveShard, r.InstantShard = keys.due, keys.active, keys.instant
		rec, err := attributevalue.MarshalMap(r)
		if err != nil {
			return fmt.Errorf("encode subscriber %s: %w", s.ID, err)
		}
		claim := emailKey(s.Email)
		claim["subscriber_id"] = &types.AttributeValueMemberS{Value: s.ID}
		writes = append(writes,
			types.WriteRequest{PutRequest: &types.PutRequest{Item: rec}},
			types.WriteRequest{PutRequest: &types.PutRequest{Item: claim}},
		)
	}
	for chunk := range slices.Chunk(writes, maxBatchWrite) {
		if err := st.batchWrite(ctx, chunk); err != nil {
			return err
		}
	}
	return nil
}

// batchWrite writes one batch, retrying what DynamoDB leaves unprocessed
// with backoff, as batchGet does for reads.
func (st *SubscriberStore) batchWrite(ctx context.Context, batch []types.WriteRequest) error {
	pending := map[string][]types.WriteRequest{st.table: batch}
	for attempt := 0; len(pending) > 0; attempt++ {
		if attempt > 0 {
			if attempt > 8 {
				return fmt.Errorf("import subscribers into %s: writes still unprocessed after %d attempts", st.table, attempt)
			}
			if err := backoff(ctx, attempt); err != nil {
				return err
			}
		}
		out, err := st.db.BatchWriteItem(ctx, &dynamodb.BatchWriteItemInput{RequestItems: pending})
		if err != nil {
			return fmt.Errorf("import subscribers into %s: %w", st.table, err)
		}
		pending = out.UnprocessedItems
	}
	return nil
}
