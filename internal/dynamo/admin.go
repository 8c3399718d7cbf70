package dynamo

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/radiogram/radiogram/internal/admin"
	"github.com/radiogram/radiogram/internal/delivery"
)

// AdminStore keeps the admin table: run records ("run#<id>"), idempotency
// keys ("idem#<key>", expiring), console sessions ("session#<id>",
// expiring), the audit log ("audit#<time>"), and ingest runs with their
// lock (ingestruns.go). Runs and audit entries carry a kind and a time,
// which an index lists newest first.
type AdminStore struct {
	db    API
	table string
	now   func() time.Time
}

// NewAdminStore returns a store over the named table.
func NewAdminStore(db API, table string, now func() time.Time) *AdminStore {
	return &AdminStore{db: db, table: table, now: now}
}

var _ delivery.RunRecorder = (*AdminStore)(nil)

// A run is a head record ("run#<id>"), which lists it, and one record per
// planned shard ("run#<id>#<shard>") with that shard's report: shards are
// planned by separate invocations, each writing only its own record, so
// that none waits on another and a retried shard overwrites only itself.
type runRecord struct {
	PK        string `dynamodbav:"pk"`
	Kind      string `dynamodbav:"kind"`
	At        string `dynamodbav:"at"`
	ID        string `dynamodbav:"id"`
	StartedBy string `dynamodbav:"started_by"`
	Target    string `dynamodbav:"target"`
	DryRun    bool   `dynamodbav:"dry_run"`
	Automatic bool   `dynamodbav:"automatic"`
	Until     string `dynamodbav:"until"`
	Shards    int    `dynamodbav:"shards"`
}

type runShardRecord struct {
	PK   string `dynamodbav:"pk"`
	Plan string `dynamodbav:"plan"` // the shard's report, as JSON
}

func runKey(id string) string { return "run#" + id }

func runShardKey(id string, shard int) string { return fmt.Sprintf("run#%s#%02d", id, shard) }

// StartRun lists a run; a run listed already keeps its first record.
func (s *AdminStore) StartRun(ctx context.Context, req delivery.Request) error {
	shards := 1
	if req.Sharded || req.Target.Kind != delivery.TargetSubscriber {
		shards = delivery.Shards
	}
	now := s.now().UTC()
	item, err := attributevalue.MarshalMap(runRecord{
		PK: runKey(req.RunID), Kind: "run", At: sortableTime(now) + "#" + req.RunID, ID: req.RunID,
		StartedBy: req.StartedBy, Target: req.Target.Name(), DryRun: req.DryRun, Automatic: req.Automatic(),
		Until: timeAttr(req.Until), Shards: shards,
	})
	if err != nil {
		return fmt.Errorf("encode run: %w", err)
	}
	_, err = s.db.PutItem(ctx, &dynamodb.PutItemInput{
		TableName: &s.table, Item: item, ConditionExpression: aws.String("attribute_not_exists(pk)"),
	})
	if err != nil && !isConditionFailed(err) {
		return fmt.Errorf("record run %s: %w", req.RunID, err)
	}
	return nil
}

// RecordRun stores one shard's plan, its recipients by subscriber id only,
// and lists the run if no shard or admin has yet.
func (s *AdminStore) RecordRun(ctx context.Context, req delivery.Request, rep delivery.Report) error {
	if err := s.StartRun(ctx, req); err != nil {
		return err
	}
	plan, err := json.Marshal(rep.Redacted())
	if err != nil {
		return fmt.Errorf("encode plan: %w", err)
	}
	item, err := attributevalue.MarshalMap(runShardRecord{PK: runShardKey(req.RunID, req.Shard), Plan: string(plan)})
	if err != nil {
		return fmt.Errorf("encode run: %w", err)
	}
	if _, err := s.db.PutItem(ctx, &dynamodb.PutItemInput{TableName: &s.table, Item: item}); err != nil {
		return fmt.Errorf("record shard %d of run %s: %w", req.Shard, req.RunID, err)
	}
	return nil
}

// Run reads one run, with the plans of the shards planned so far.
func (s *AdminStore) Run(ctx context.Context, id string) (admin.Run, error) {
	out, err := s.db.GetItem(ctx, &dynamodb.GetItemInput{TableName: &s.table, Key: stringKey("pk", runKey(id))})
	if err != nil {
		return admin.Run{}, fmt.Errorf("read run %s: %w", id, err)
	}
	if out.Item == nil {
		return admin.Run{}, admin.ErrNotFound
	}
	var rec runRecord
	if err := attributevalue.UnmarshalMap(out.Item, &rec); err != nil {
		return admin.Run{}, fmt.Errorf("decode run %s: %w", id, err)
	}
	runs, err := s.withShards(ctx, []runRecord{rec})
	if err != nil {
		return admin.Run{}, err
	}
	return runs[0], nil
}

// Runs lists the latest runs, newest first.
func (s *AdminStore) Runs(ctx context.Context, limit int) ([]admin.Run, error) {
	raw, err := s.latest(ctx, "run", limit)
	if err != nil {
		return nil, err
	}
	var recs []runRecord
	if err := attributevalue.UnmarshalListOfMaps(raw, &recs); err != nil {
		return nil, fmt.Errorf("decode runs: %w", err)
	}
	return s.withShards(ctx, recs)
}

// withShards reads the shard plans of runs in one batch and merges each
// run's into its plan.
func (s *AdminStore) withShards(ctx context.Context, recs []runRecord) ([]admin.Run, error) {
	var keys []map[string]types.AttributeValue
	for _, r := range recs {
		for shard := range r.Shards {
			keys = append(keys, stringKey("pk", runShardKey(r.ID, shard)))
		}
	}
	raw, err := batchGet(ctx, s.db, s.table, keys, "")
	if err != nil {
		return nil, fmt.Errorf("read run plans: %w", err)
	}
	var parts []runShardRecord
	if err := attributevalue.UnmarshalListOfMaps(raw, &parts); err != nil {
		return nil, fmt.Errorf("decode run plans: %w", err)
	}
	plans := map[string][]delivery.Report{}
	for _, p := range parts {
		var rep delivery.Report
		if err := json.Unmarshal([]byte(p.Plan), &rep); err != nil {
			return nil, fmt.Errorf("decode plan %s: %w", p.PK, err)
		}
		plans[rep.RunID] = append(plans[rep.RunID], rep)
	}
	runs := make([]admin.Run, len(recs))
	for i, r := range recs {
		runs[i] = r.run(plans[r.ID])
	}
	return runs, nil
}

func (r runRecord) run(plans []delivery.Report) admin.Run {
	at, _, _ := strings.Cut(r.At, "#")
	run := admin.Run{
		ID: r.ID, StartedBy: r.StartedBy, Target: r.Target, DryRun: r.DryRun, CreatedAt: parseTime(at),
		Shards: r.Shards, ShardsPlanned: len(plans), Skipped: map[string]int{}, Feedback: map[string]int{},
	}
	run.Plan = delivery.Report{RunID: r.ID, Until: parseTime(r.Until), DryRun: r.DryRun, Skipped: map[string]int{}, Topics: map[string]int{}}
	// In a fixed order, so that a dry run's sample reads the same each time.
	slices.SortFunc(plans, func(a, b delivery.Report) int { return cmp.Compare(firstID(a), firstID(b)) })
	for _, p := range plans {
		run.Plan.Target = p.Target
		run.Plan.Merge(p)
	}
	// An automatic run is listed by its first shard with somebody to mail:
	// its other shards found nobody and left no plan.
	run.Status = admin.RunPlanned
	if !r.Automatic && len(plans) < r.Shards {
		run.Status = admin.RunPlanning
	}
	return run
}

func firstID(rep delivery.Report) string {
	if len(rep.Recipients) == 0 {
		return ""
	}
	return rep.Recipients[0].SubscriberID
}

func (s *AdminStore) latest(ctx context.Context, kind string, limit int) ([]map[string]types.AttributeValue, error) {
	out, err := s.db.Query(ctx, &dynamodb.QueryInput{
		TableName:                 &s.table,
		IndexName:                 aws.String("by-kind"),
		KeyConditionExpression:    aws.String("kind = :kind"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":kind": &types.AttributeValueMemberS{Value: kind}},
		ScanIndexForward:          aws.Bool(false),
		Limit:                     aws.Int32(int32(limit)),
	})
	if err != nil {
		return nil, fmt.Errorf("list %s records: %w", kind, err)
	}
	return out.Items, nil
}

// ClaimIdempotencyKey ties a key to a run for a day. It returns the run
// already tied to the key, or "" when this call claimed it.
func (s *AdminStore) ClaimIdempotencyKey(ctx context.Context, key, runID string) (string, error) {
	_, err := s.db.PutItem(ctx, &dynamodb.PutItemInput{
		TableName: &s.table,
		Item: map[string]types.AttributeValue{
			"pk":         &types.AttributeValueMemberS{Value: "idem#" + key},
			"run_id":     &types.AttributeValueMemberS{Value: runID},
			"expires_at": &types.AttributeValueMemberN{Value: fmt.Sprint(s.now().Add(24 * time.Hour).Unix())},
		},
		ConditionExpression:                 aws.String("attribute_not_exists(pk)"),
		ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld,
	})
	var ccf *types.ConditionalCheckFailedException
	if errors.As(err, &ccf) {
		if id, ok := ccf.Item["run_id"].(*types.AttributeValueMemberS); ok {
			return id.Value, nil
		}
		return "", fmt.Errorf("idempotency key %q is held without a run", key)
	}
	if err != nil {
		return "", fmt.Errorf("claim idempotency key: %w", err)
	}
	return "", nil
}

// ReleaseIdempotencyKey frees a key whose run could not be planned, so
// that the admin's retry is not answered with a run that never was.
func (s *AdminStore) ReleaseIdempotencyKey(ctx context.Context, key string) error {
	_, err := s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:        &s.table,
		Key:              stringKey("pk", "idem#"+key),
		UpdateExpression: aws.String("SET expires_at = :now REMOVE run_id"),
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":now": &types.AttributeValueMemberN{Value: fmt.Sprint(s.now().Unix())},
		},
	})
	if err != nil {
		return fmt.Errorf("release idempotency key: %w", err)
	}
	return nil
}

type auditRecord struct {
	PK     string `dynamodbav:"pk"`
	Kind   string `dynamodbav:"kind"`
	At     string `dynamodbav:"at"`
	Actor  string `dynamodbav:"actor"`
	Action string `dynamodbav:"action"`
	Detail string `dynamodbav:"detail"`
	Client string `dynamodbav:"client"`
}

// Record appends an entry to the audit log.
func (s *AdminStore) Record(ctx context.Context, e admin.AuditEntry) error {
	at := sortableTime(e.At) + "#" + newSuffix()
	item, err := attributevalue.MarshalMap(auditRecord{PK: "audit#" + at, Kind: "audit", At: at, Actor: e.Actor, Action: e.Action, Detail: e.Detail, Client: e.Client})
	if err != nil {
		return fmt.Errorf("encode audit entry: %w", err)
	}
	if _, err := s.db.PutItem(ctx, &dynamodb.PutItemInput{TableName: &s.table, Item: item}); err != nil {
		return fmt.Errorf("record audit entry: %w", err)
	}
	return nil
}

// Audit lists the latest audit entries, newest first.
func (s *AdminStore) Audit(ctx context.Context, limit int) ([]admin.AuditEntry, error) {
	raw, err := s.latest(ctx, "audit", limit)
	if err != nil {
		return nil, err
	}
	var recs []auditRecord
	if err := attributevalue.UnmarshalListOfMaps(raw, &recs); err != nil {
		return nil, fmt.Errorf("decode audit log: %w", err)
	}
	entries := make([]admin.AuditEntry, len(recs))
	for i, r := range recs {
		at, _, _ := strings.Cut(r.At, "#")
		entries[i] = admin.AuditEntry{At: parseTime(at), Actor: r.Actor, Action: r.Action, Detail: r.Detail, Client: r.Client}
	}
	return entries, nil
}

// Console sessions ("session#<id>", expiring with the session): the console
// stores one per sign-in, and signing out ends it. Binding ties it to the
// admin token it was opened with (see package console). Sessions carry no
// kind, so the by-kind index lists none.
type sessionRecord struct {
	PK        string `dynamodbav:"pk"`
	Binding   string `dynamodbav:"binding"`
	CreatedAt string `dynamodbav:"created_at"`
	ExpiresAt int64  `dynamodbav:"expires_at"` // the table's TTL attribute
}

// PutSession stores a new console session until expires.
func (s *AdminStore) PutSession(ctx context.Context, id, binding string, expires time.Time) error {
	item, err := attributevalue.MarshalMap(sessionRecord{
		PK: "session#" + id, Binding: binding, CreatedAt: sortableTime(s.now().UTC()), ExpiresAt: expires.Unix(),
	})
	if err != nil {
		return fmt.Errorf("encode session: %w", err)
	}
	_, err = s.db.PutItem(ctx, &dynamodb.PutItemInput{
		TableName: &s.table, Item: item,
		ConditionExpression: aws.String("attribute_not_exists(pk)"),
	})
	if err != nil {
		return fmt.Errorf("store session: %w", err)
	}
	return nil
}

// Session reads a console session: its binding and expiry, and found false
// for one never stored or deleted. DynamoDB removes expired items only
// eventually, so the caller compares the expiry with the time.
func (s *AdminStore) Session(ctx context.Context, id string) (binding string, expires time.Time, found bool, err error) {
	out, err := s.db.GetItem(ctx, &dynamodb.GetItemInput{TableName: &s.table, Key: stringKey("pk", "session#"+id), ConsistentRead: aws.Bool(true)})
	if err != nil {
		return "", time.Time{}, false, fmt.Errorf("read session: %w", err)
	}
	if out.Item == nil {
		return "", time.Time{}, false, nil
	}
	var rec sessionRecord
	if err := attributevalue.UnmarshalMap(out.Item, &rec); err != nil {
		return "", time.Time{}, false, fmt.Errorf("decode session: %w", err)
	}
	return rec.Binding, time.Unix(rec.ExpiresAt, 0), true, nil
}

// DeleteSession ends a console session: the record loses its binding and
// expires now, and DynamoDB's TTL removes it. (An update, not a DeleteItem:
// the API role may update the admin table, and the store's client offers
// no delete.) Ending one not stored is no error.
func (s *AdminStore) DeleteSession(ctx context.Context, id string) error {
	_, err := s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:           &s.table,
		Key:                 stringKey("pk", "session#"+id),
		UpdateExpression:    aws.String("SET expires_at = :now REMOVE binding"),
		ConditionExpression: aws.String("attribute_exists(pk)"),
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":now": &types.AttributeValueMemberN{Value: fmt.Sprint(s.now().Unix())},
		},
	})
	if err != nil && !isConditionFailed(err) {
		return fmt.Errorf("end session: %w", err)
	}
	return nil
}

// The sending pause ("pause#sending"): set by a sender when SES refuses a
// mail for the account's used-up daily quota, read by every sender
// invocation (which sends nothing while it lasts) and by the admin
// summary. It carries no kind, so the by-kind index lists none; a later
// pause overwrites it, and one past its end means nothing.
type pauseRecord struct {
	PK     string `dynamodbav:"pk"`
	Until  string `dynamodbav:"until"`
	Reason string `dynamodbav:"reason"`
	At     string `dynamodbav:"at_time"`
}

const pauseKey = "pause#sending"

var _ delivery.PauseStore = (*AdminStore)(nil)

// PauseSending records that sending is paused until the time given.
func (s *AdminStore) PauseSending(ctx context.Context, until time.Time, reason string) error {
	item, err := attributevalue.MarshalMap(pauseRecord{PK: pauseKey, Until: sortableTime(until.UTC()), Reason: reason, At: sortableTime(s.now().UTC())})
	if err != nil {
		return fmt.Errorf("encode sending pause: %w", err)
	}
	if _, err := s.db.PutItem(ctx, &dynamodb.PutItemInput{TableName: &s.table, Item: item}); err != nil {
		return fmt.Errorf("record sending pause: %w", err)
	}
	return nil
}

// SendingPausedUntil returns the end of the last recorded pause, or the
// zero time for none.
func (s *AdminStore) SendingPausedUntil(ctx context.Context) (time.Time, error) {
	out, err := s.db.GetItem(ctx, &dynamodb.GetItemInput{TableName: &s.table, Key: stringKey("pk", pauseKey)})
	if err != nil {
		return time.Time{}, fmt.Errorf("read sending pause: %w", err)
	}
	if out.Item == nil {
		return time.Time{}, nil
	}
	var rec pauseRecord
	if err := attributevalue.UnmarshalMap(out.Item, &rec); err != nil {
		return time.Time{}, fmt.Errorf("decode sending pause: %w", err)
	}
	return parseTime(rec.Until), nil
}
