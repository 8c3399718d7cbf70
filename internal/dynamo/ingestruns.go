package dynamo

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/radiogram/radiogram/internal/ingest"
	"github.com/radiogram/radiogram/internal/ingestruns"
)

// Ingest runs live in the admin table too: one record per run
// ("ingest#<id>", kind "ingest" with its start as "at", so that the by-kind
// index can list them newest first; expiring after IngestRunRetention) and
// the lock that lets one run go at a time ("ingest#current", no kind, so
// the index never lists it).
const (
	ingestLockKey = "ingest#current"
	// IngestRunRetention is how long a run's record is kept.
	IngestRunRetention = 30 * 24 * time.Hour
	// maxSummaryBytes keeps a run's record well under DynamoDB's 400 KB
	// item limit, whatever the number of feeds.
	maxSummaryBytes = 300 << 10
)

var _ ingestruns.Store = (*AdminStore)(nil)

type ingestLockRecord struct {
	PK    string `dynamodbav:"pk"`
	RunID string `dynamodbav:"run_id"`
	// LeaseUntil is in Unix milliseconds; the lock is free from then on.
	LeaseUntil int64 `dynamodbav:"lease_until"`
	Claimed    bool  `dynamodbav:"claimed,omitempty"`
}

func (r ingestLockRecord) lock() ingestruns.Lock {
	return ingestruns.Lock{RunID: r.RunID, Until: time.UnixMilli(r.LeaseUntil).UTC(), Claimed: r.Claimed}
}

// AcquireIngestLock takes the lock with one conditional write: it succeeds
// if the lock was never taken, its lease has ended, or runID holds it
// unclaimed (the function taking up the run its request queued).
func (s *AdminStore) AcquireIngestLock(ctx context.Context, runID string, now, until time.Time, claim bool) (ingestruns.Lock, bool, error) {
	rec := ingestLockRecord{PK: ingestLockKey, RunID: runID, LeaseUntil: until.UnixMilli(), Claimed: claim}
	item, err := attributevalue.MarshalMap(rec)
	if err != nil {
		return ingestruns.Lock{}, false, fmt.Errorf("encode ingest lock: %w", err)
	}
	_, err = s.db.PutItem(ctx, &dynamodb.PutItemInput{
		TableName:           &s.table,
		Item:                item,
		ConditionExpression: aws.String("attribute_not_exists(pk) OR lease_until <= :now OR (run_id = :id AND attribute_not_exists(claimed))"),
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":now": &types.AttributeValueMemberN{Value: strconv.FormatInt(now.UnixMilli(), 10)},
			":id":  &types.AttributeValueMemberS{Value: runID},
		},
		ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld,
	})
	var ccf *types.ConditionalCheckFailedException
	if errors.As(err, &ccf) {
		var held ingestLockRecord
		if err := attributevalue.UnmarshalMap(ccf.Item, &held); err != nil {
			return ingestruns.Lock{}, false, fmt.Errorf("decode ingest lock: %w", err)
		}
		return held.lock(), false, nil
	}
	if err != nil {
		return ingestruns.Lock{}, false, fmt.Errorf("take ingest lock: %w", err)
	}
	return rec.lock(), true, nil
}

// ReleaseIngestLock ends the lease if runID holds the lock; if another run
// holds it, it leaves it alone.
func (s *AdminStore) ReleaseIngestLock(ctx context.Context, runID string) error {
	_, err := s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:           &s.table,
		Key:                 stringKey("pk", ingestLockKey),
		UpdateExpression:    aws.String("SET lease_until = :zero REMOVE claimed"),
		ConditionExpression: aws.String("run_id = :id"),
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":zero": &types.AttributeValueMemberN{Value: "0"},
			":id":   &types.AttributeValueMemberS{Value: runID},
		},
	})
	if err != nil && !isConditionFailed(err) {
		return fmt.Errorf("release ingest lock: %w", err)
	}
	return nil
}

// IngestLock reads the lock as it stands.
func (s *AdminStore) IngestLock(ctx context.Context) (ingestruns.Lock, error) {
	out, err := s.db.GetItem(ctx, &dynamodb.GetItemInput{TableName: &s.table, Key: stringKey("pk", ingestLockKey), ConsistentRead: aws.Bool(true)})
	if err != nil {
		return ingestruns.Lock{}, fmt.Errorf("read ingest lock: %w", err)
	}
	if out.Item == nil {
		return ingestruns.Lock{}, nil
	}
	var rec ingestLockRecord
	if err := attributevalue.UnmarshalMap(out.Item, &rec); err != nil {
		return ingestruns.Lock{}, fmt.Errorf("decode ingest lock: %w", err)
	}
	return rec.lock(), nil
}

type ingestRunRecord struct {
	PK         string `dynamodbav:"pk"`
	Kind       string `dynamodbav:"kind"`
	At         string `dynamodbav:"at"`
	ID         string `dynamodbav:"id"`
	Status     string `dynamodbav:"status"`
	StartedBy  string `dynamodbav:"started_by"`
	StartedAt  string `dynamodbav:"started_at"`
	FinishedAt string `dynamodbav:"finished_at"`
	Error      string `dynamodbav:"error"`
	Summary    string `dynamodbav:"summary"` // ingest.Summary, as JSON
	ExpiresAt  int64  `dynamodbav:"expires_at"`
}

// PutIngestRun stores a new run, expiring after IngestRunRetention.
func (s *AdminStore) PutIngestRun(ctx context.Context, r ingestruns.Run) error {
	sum, err := encodeSummary(r.Summary)
	if err != nil {
		return err
	}
	item, err := attributevalue.MarshalMap(ingestRunRecord{
		PK: "ingest#" + r.ID, Kind: "ingest", At: sortableTime(r.StartedAt) + "#" + r.ID, ID: r.ID,
		Status: string(r.Status), StartedBy: r.StartedBy, StartedAt: timeAttr(r.StartedAt), Error: r.Error,
		Summary: sum, ExpiresAt: r.StartedAt.Add(IngestRunRetention).Unix(),
	})
	if err != nil {
		return fmt.Errorf("encode ingest run: %w", err)
	}
	_, err = s.db.PutItem(ctx, &dynamodb.PutItemInput{
		TableName: &s.table, Item: item, ConditionExpression: aws.String("attribute_not_exists(pk)"),
	})
	if err != nil {
		return fmt.Errorf("record ingest run %s: %w", r.ID, err)
	}
	return nil
}

// FinishIngestRun records a run's outcome, only while it is recorded as
// running: the first outcome stands.
func (s *AdminStore) FinishIngestRun(ctx context.Context, r ingestruns.Run) (bool, error) {
	sum, err := encodeSummary(r.Summary)
	if err != nil {
		return false, err
	}
	var finished string
	if r.FinishedAt != nil {
		finished = timeAttr(*r.FinishedAt)
	}
	_, err = s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:           &s.table,
		Key:                 stringKey("pk", "ingest#"+r.ID),
		UpdateExpression:    aws.String("SET #status = :status, finished_at = :finished, #error = :error, summary = :summary"),
		ConditionExpression: aws.String("#status = :running"),
		ExpressionAttributeNames: map[string]string{
			"#status": "status", "#error": "error",
		},
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":status":   &types.AttributeValueMemberS{Value: string(r.Status)},
			":finished": &types.AttributeValueMemberS{Value: finished},
			":error":    &types.AttributeValueMemberS{Value: r.Error},
			":summary":  &types.AttributeValueMemberS{Value: sum},
			":running":  &types.AttributeValueMemberS{Value: string(ingestruns.StatusRunning)},
		},
	})
	if isConditionFailed(err) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("record outcome of ingest run %s: %w", r.ID, err)
	}
	return true, nil
}

// IngestRun reads one run, consistently: its status is read right after
// it changes.
func (s *AdminStore) IngestRun(ctx context.Context, id string) (ingestruns.Run, error) {
	out, err := s.db.GetItem(ctx, &dynamodb.GetItemInput{TableName: &s.table, Key: stringKey("pk", "ingest#"+id), ConsistentRead: aws.Bool(true)})
	if err != nil {
		return ingestruns.Run{}, fmt.Errorf("read ingest run %s: %w", id, err)
	}
	if out.Item == nil {
		return ingestruns.Run{}, ingestruns.ErrNotFound
	}
	var rec ingestRunRecord
	if err := attributevalue.UnmarshalMap(out.Item, &rec); err != nil {
		return ingestruns.Run{}, fmt.Errorf("decode ingest run %s: %w", id, err)
	}
	if rec.Kind != "ingest" { // "current" names the lock, no run
		return ingestruns.Run{}, ingestruns.ErrNotFound
	}
	return rec.run()
}

func (r ingestRunRecord) run() (ingestruns.Run, error) {
	run := ingestruns.Run{ID: r.ID, Status: ingestruns.Status(r.Status), StartedBy: r.StartedBy, StartedAt: parseTime(r.StartedAt), Error: r.Error}
	if t := parseTime(r.FinishedAt); !t.IsZero() {
		run.FinishedAt = &t
	}
	if r.Summary != "" {
		if err := json.Unmarshal([]byte(r.Summary), &run.Summary); err != nil {
			return run, fmt.Errorf("decode summary of ingest run %s: %w", r.ID, err)
		}
	}
	return run, nil
}

// encodeSummary writes a summary as JSON. A summary too large for the
// record keeps only its failed feeds' results, or none: the counts always
// stay.
func encodeSummary(sum ingest.Summary) (string, error) {
	data, err := json.Marshal(sum)
	if err == nil && len(data) > maxSummaryBytes {
		var failed []ingest.FeedResult
		for _, f := range sum.Feeds {
			if f.Error != "" {
				failed = append(failed, f)
			}
		}
		sum.Feeds = failed
		if data, err = json.Marshal(sum); err == nil && len(data) > maxSummaryBytes {
			sum.Feeds = nil
			data, err = json.Marshal(sum)
		}
	}
	if err != nil {
		return "", fmt.Errorf("encode ingest summary: %w", err)
	}
	return string(data), nil
}
