package localenv

import (
	"context"
	"errors"
	"maps"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

func requireMoto(tb testing.TB) {
	tb.Helper()
	if testing.Short() {
		tb.Skip("starts moto_server; skipped in -short mode (make unit)")
	}
	if _, err := exec.LookPath("moto_server"); err != nil {
		tb.Skip("moto_server is not on PATH")
	}
}

// testLog sends moto's output to the test log, shown only on failure or -v.
type testLog struct{ tb testing.TB }

func (l testLog) Write(p []byte) (int, error) {
	l.tb.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

func startEnv(tb testing.TB, opts Options) *Env {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	env, err := Start(ctx, opts)
	if err != nil {
		tb.Fatalf("Start: %v", err)
	}
	return env
}

func dynamoClient(env *Env) *dynamodb.Client {
	return dynamodb.New(dynamodb.Options{
		Region:       env.Region,
		BaseEndpoint: aws.String(env.Endpoint),
		Credentials:  credentials.NewStaticCredentialsProvider("test", "test", ""),
		// No pooled connections: they would outlive the server in the
		// goroutine count.
		HTTPClient: &http.Client{Transport: &http.Transport{DisableKeepAlives: true}},
	})
}

type keyAttr struct{ name, keyType string }

type tableShape struct {
	key     []keyAttr
	indexes map[string][]keyAttr
}

func describeShape(t *testing.T, client *dynamodb.Client, table string) tableShape {
	t.Helper()
	out, err := client.DescribeTable(context.Background(), &dynamodb.DescribeTableInput{TableName: aws.String(table)})
	if err != nil {
		t.Fatalf("DescribeTable %s: %v", table, err)
	}
	shape := tableShape{key: keyAttrs(out.Table.KeySchema), indexes: map[string][]keyAttr{}}
	for _, gsi := range out.Table.GlobalSecondaryIndexes {
		// by-published holds keys, society and topics only: listings read
		// the page's items from the table in one batch.
		if gsi.Projection == nil || (gsi.Projection.ProjectionType != types.ProjectionTypeAll && aws.ToString(gsi.IndexName) != "by-published") {
			t.Errorf("%s index %s: projection %+v, want ALL", table, aws.ToString(gsi.IndexName), gsi.Projection)
		}
		shape.indexes[aws.ToString(gsi.IndexName)] = keyAttrs(gsi.KeySchema)
	}
	return shape
}

func keyAttrs(schema []types.KeySchemaElement) []keyAttr {
	attrs := make([]keyAttr, len(schema))
	for i, k := range schema {
		attrs[i] = keyAttr{aws.ToString(k.AttributeName), string(k.KeyType)}
	}
	return attrs
}

func TestStartDeploysTables(t *testing.T) {
	requireMoto(t)
	goroutinesBefore := runtime.NumGoroutine()

	env := startEnv(t, Options{Log: testLog{t}, Parameters: map[string]string{"PublicBaseUrl": "https://news.example.org"}})
	t.Logf("moto at %s, stack %s, outputs %v", env.Endpoint, env.StackName, env.Outputs)
	if !strings.HasPrefix(env.StackName, "rg-") || len(env.StackName) != len("rg-xxxxxx") {
		t.Errorf("StackName = %q, want rg-xxxxxx", env.StackName)
	}

	client := dynamoClient(env)
	tests := []struct {
		output string
		want   tableShape
	}{
		{
			output: "FeedsTableName",
			want:   tableShape{key: []keyAttr{{"id", "HASH"}}, indexes: map[string][]keyAttr{}},
		},
		{
			output: "ItemsTableName",
			want: tableShape{
				key: []keyAttr{{"id", "HASH"}},
				indexes: map[string][]keyAttr{
					"by-society":   {{"society", "HASH"}, {"pub_key", "RANGE"}},
					"by-ingested":  {{"ingest_day", "HASH"}, {"ingest_key", "RANGE"}},
					"by-published": {{"pub_year", "HASH"}, {"pub_key", "RANGE"}},
				},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.output, func(t *testing.T) {
			table, ok := env.Outputs[tt.output]
			if !ok {
				t.Fatalf("outputs %v lack %s", env.Outputs, tt.output)
			}
			if !strings.HasPrefix(table, env.StackName+"-") {
				t.Errorf("table %q is not named after stack %q", table, env.StackName)
			}
			got := describeShape(t, client, table)
			if !slices.Equal(got.key, tt.want.key) {
				t.Errorf("key schema = %v, want %v", got.key, tt.want.key)
			}
			if len(got.indexes) != len(tt.want.indexes) {
				t.Errorf("indexes = %v, want %v", got.indexes, tt.want.indexes)
			}
			for name, want := range tt.want.indexes {
				if !slices.Equal(got.indexes[name], want) {
					t.Errorf("index %s key schema = %v, want %v", name, got.indexes[name], want)
				}
			}
		})
	}

	// The whole template is deployed: resources moto's CloudFormation cannot
	// create are made around it, so every output resolves.
	for _, output := range []string{"ApiUrl", "AdminTokenSecretArn", "SigningKeysSecretArn", "FeedbackTopicArn", "FeedbackQueueUrl", "FeedbackDeadLetterQueueUrl", "FailedInvocationsQueueUrl"} {
		if v := env.Outputs[output]; v == "" || strings.Contains(v, "${") {
			t.Errorf("output %s = %q, want a resolved value", output, v)
		}
	}
	if got := slices.Sorted(maps.Keys(env.Functions)); !slices.Equal(got, []string{"ApiFunction", "FeedbackFunction", "InboundFunction", "IngestFunction", "PlannerFunction", "SenderFunction"}) {
		t.Errorf("functions = %v", got)
	}
	sender := env.FunctionEnv("SenderFunction")
	if sender["RADIOGRAM_BASE_URL"] != "https://news.example.org" || sender["RADIOGRAM_AWS_ENDPOINT"] != env.Endpoint ||
		!strings.HasPrefix(sender["RADIOGRAM_SIGNING_KEYS_SECRET_ARN"], "arn:aws:secretsmanager:") {
		t.Errorf("sender environment %v: want the parameter, the endpoint and the secret resolved", sender)
	}
	combined, err := env.CombinedEnv()
	if err != nil {
		t.Fatal(err)
	}
	if combined["RADIOGRAM_FEEDS_TABLE"] != env.Outputs["FeedsTableName"] || combined["RADIOGRAM_FEEDBACK_TOPIC_ARN"] != env.Outputs["FeedbackTopicArn"] {
		t.Errorf("combined environment %v lacks a function's variables", combined)
	}
	if env.FunctionEnv("NoSuchFunction") != nil {
		t.Error("FunctionEnv of an unknown function is not nil")
	}

	if err := env.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := env.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	u, err := url.Parse(env.Endpoint)
	if err != nil {
		t.Fatal(err)
	}
	if conn, err := net.DialTimeout("tcp", u.Host, time.Second); err == nil {
		conn.Close()
		t.Errorf("%s still accepts connections after Close", u.Host)
	}

	// Every goroutine Start created (process reaper, output copier) ends
	// with Close; give the runtime a moment to retire them.
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > goroutinesBefore && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if n := runtime.NumGoroutine(); n > goroutinesBefore {
		buf := make([]byte, 1<<16)
		t.Errorf("%d goroutines after Close, %d before:\n%s", n, goroutinesBefore, buf[:runtime.Stack(buf, true)])
	}
}

func TestStartWithEndpointSharesServer(t *testing.T) {
	requireMoto(t)
	server := startEnv(t, Options{Log: testLog{t}})
	t.Cleanup(func() {
		if err := server.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})

	const stack = "rg-shared"
	first := startEnv(t, Options{Endpoint: server.Endpoint, StackName: stack})
	if first.Endpoint != server.Endpoint {
		t.Errorf("Endpoint = %q, want %q", first.Endpoint, server.Endpoint)
	}
	if got, want := first.Outputs["FeedsTableName"], stack+"-feeds"; got != want {
		t.Errorf("FeedsTableName = %q, want %q", got, want)
	}
	if server.Outputs["FeedsTableName"] == first.Outputs["FeedsTableName"] {
		t.Errorf("two stacks share table %q", first.Outputs["FeedsTableName"])
	}

	// Deploying the same stack again updates it in place: the data stays.
	client := dynamoClient(first)
	feeds := first.Outputs["FeedsTableName"]
	_, err := client.PutItem(context.Background(), &dynamodb.PutItemInput{
		TableName: aws.String(feeds),
		Item:      map[string]types.AttributeValue{"id": &types.AttributeValueMemberS{Value: "kept"}},
	})
	if err != nil {
		t.Fatalf("PutItem: %v", err)
	}
	second := startEnv(t, Options{Endpoint: server.Endpoint, StackName: stack})
	got, err := client.GetItem(context.Background(), &dynamodb.GetItemInput{
		TableName: aws.String(feeds),
		Key:       map[string]types.AttributeValue{"id": &types.AttributeValueMemberS{Value: "kept"}},
	})
	if err != nil {
		t.Fatalf("GetItem after redeploy: %v", err)
	}
	if got.Item == nil {
		t.Error("redeploying the stack lost the table's items")
	}
	// The stack's generated secrets are kept too: links signed and the
	// admin token printed before a restart keep working after it.
	for _, v := range []string{"RADIOGRAM_ADMIN_TOKEN_SECRET_ARN", "RADIOGRAM_SIGNING_KEYS_SECRET_ARN"} {
		if before, after := first.FunctionEnv("ApiFunction")[v], second.FunctionEnv("ApiFunction")[v]; before == "" || before != after {
			t.Errorf("%s: %q before the redeploy, %q after; want the same secret", v, before, after)
		}
	}

	// Closing an environment that reused a server leaves the server up.
	for _, env := range []*Env{first, second} {
		if err := env.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	}
	if _, err := client.ListTables(context.Background(), &dynamodb.ListTablesInput{}); err != nil {
		t.Errorf("shared server stopped answering after Close of its users: %v", err)
	}
}

func TestStartUnreachableEndpoint(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closedPort := l.Addr().String()
	l.Close()

	ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer cancel()
	env, err := Start(ctx, Options{Endpoint: "http://" + closedPort})
	if err == nil {
		env.Close()
		t.Fatal("Start with an unreachable endpoint succeeded")
	}
	if !strings.Contains(err.Error(), closedPort) {
		t.Errorf("error %q does not name the endpoint %s", err, closedPort)
	}
}

// A port taken between the free-port probe and moto's bind must show up as
// an early exit, which Start answers with a fresh port, not as a hang or as
// success against whoever holds the port.
func TestMotoOnTakenPortReportsExit(t *testing.T) {
	requireMoto(t)
	squatter := httptest.NewServer(http.NotFoundHandler())
	defer squatter.Close()
	port := squatter.Listener.Addr().(*net.TCPAddr).Port

	path, err := exec.LookPath("moto_server")
	if err != nil {
		t.Fatal(err)
	}
	m, err := launchMoto(path, port, testLog{t})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := waitReady(ctx, m.endpoint, m.exited); !errors.Is(err, errExited) {
		t.Errorf("waitReady = %v, want errExited", err)
	}
	err = m.stop()
	if err == nil || !strings.Contains(err.Error(), "in use") {
		t.Errorf("stop = %v, want the exit explained by moto's output", err)
	}
}

func TestRepoRoot(t *testing.T) {
	root, err := RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"go.mod", "template.yaml", filepath.Join("infra", "local_stack.py")} {
		if _, err := os.Stat(filepath.Join(root, name)); err != nil {
			t.Errorf("repository root %s: %v", root, err)
		}
	}
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	if want := filepath.Join(root, "internal", "localenv"); wd != want {
		t.Errorf("working directory %s is not %s below root %s", wd, want, root)
	}
}

func TestTailBufferKeepsEnd(t *testing.T) {
	tests := []struct {
		name   string
		writes []string
		max    int
		want   string
	}{
		{"under limit", []string{"ab", "cd"}, 8, "abcd"},
		{"at limit", []string{"abcd"}, 4, "abcd"},
		{"one write over", []string{"abcdef"}, 4, "cdef"},
		{"many writes over", []string{"ab", "cd", "ef", "g"}, 3, "efg"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := &tailBuffer{max: tt.max}
			for _, w := range tt.writes {
				if n, err := b.Write([]byte(w)); n != len(w) || err != nil {
					t.Fatalf("Write(%q) = %d, %v", w, n, err)
				}
			}
			if got := b.String(); got != tt.want {
				t.Errorf("String() = %q, want %q", got, tt.want)
			}
		})
	}
}

// BenchmarkStart measures a cold start: moto_server up and the stack
// deployed, then torn down.
func BenchmarkStart(b *testing.B) {
	requireMoto(b)
	for b.Loop() {
		env := startEnv(b, Options{})
		if err := env.Close(); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkDeployToRunningServer measures deploying a new stack into a
// server that is already up, as tests sharing one server would.
func BenchmarkDeployToRunningServer(b *testing.B) {
	requireMoto(b)
	server := startEnv(b, Options{})
	defer server.Close()
	for b.Loop() {
		env := startEnv(b, Options{Endpoint: server.Endpoint})
		env.Close()
	}
}
