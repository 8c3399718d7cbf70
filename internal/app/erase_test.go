package app

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/radiogram/radiogram/internal/delivery"
	"github.com/radiogram/radiogram/internal/digest"
	"github.com/radiogram/radiogram/internal/ingest"
	"github.com/radiogram/radiogram/internal/subscribers"
)

// TestEraseLeavesNoAddress follows an address through everything that
// stores something about it (sign-up, confirmation, a digest, an admin dry
// run, a preview test send and a real admin send), exports its data, erases
// it, and then reads every table of the stack: neither the address, nor
// its local part, nor its unsalted SHA-256 may be left anywhere. Only the
// suppression remains, keyed by the peppered HMAC.
func TestEraseLeavesNoAddress(t *testing.T) {
	t.Parallel()
	fs := newFeedServer(t)
	a := newTestApp(t, fs.writeRegistry(t, testFeeds[:2]))
	srv := newTestAPI(t, a)
	ctx := context.Background()
	const (
		addr  = "quentin.erasure@hospital.test"
		local = "quentin.erasure"
	)
	everything := []string{"ai", "screening", "guidelines", "policy", "safety", "ultrasound", "workforce", "events", "cancer", "education", "research"}
	topicsJSON, _ := json.Marshal(everything)
	hour := time.Now().UTC().Add(time.Hour).Hour()

	// Sign up and confirm over HTTP.
	signup := `{"email":"Quentin.Erasure@hospital.test","topics":` + string(topicsJSON) + `,"frequency":"daily","hour":` + itoa(hour) + `,"timezone":"UTC"}`
	if p := fetch(t, "POST", srv.URL+"/subscribe", "application/json", signup); p.status != http.StatusAccepted {
		t.Fatalf("subscribe: %d %s", p.status, p.body)
	}
	confirmLink := waitForMail(t, a, addr, 1)[0].link(t, "/confirm")
	if p := postForm(t, srv.URL+"/confirm", url.Values{"token": {tokenIn(t, confirmLink)}}); p.status != 200 {
		t.Fatalf("confirm: %d %s", p.status, p.body)
	}
	sub, err := a.Subscribers.GetByEmail(ctx, addr)
	if err != nil || sub.Status != subscribers.StatusConfirmed {
		t.Fatalf("after confirming: %+v %v", sub, err)
	}
	if _, err := a.Ingest.Run(ctx, ingest.TriggerManual); err != nil {
		t.Fatal(err)
	}
	sender, err := a.Sender(ctx)
	if err != nil {
		t.Fatal(err)
	}

	// An admin dry run and a preview test send: the answers may show the
	// admin the address, what is stored names the subscriber by id.
	status, dry := adminCall(t, "POST", srv.URL+"/admin/sends", `{"target":"subscriber:`+addr+`","dry_run":true}`)
	if status != 200 && status != 202 {
		t.Fatalf("dry run: %d %v", status, dry)
	}
	dryID, _ := dry["run_id"].(string)
	if status, run := adminCall(t, "GET", srv.URL+"/admin/sends/"+dryID, ""); status != 200 || run["target"] != "subscriber-id:"+sub.ID {
		t.Errorf("the stored dry run: %d, target %v; want the subscriber named by id", status, run["target"])
	}
	if status, body := adminCall(t, "POST", srv.URL+"/admin/preview/send", `{"subscriber":"`+addr+`","to":"staff@radiogram.test"}`); status != 202 {
		t.Fatalf("test send: %d %v", status, body)
	}
	waitForMail(t, a, "staff@radiogram.test", 1)

	// A real admin send, then, after more news, the scheduled digest.
	if status, body := adminCall(t, "POST", srv.URL+"/admin/sends", `{"target":"subscriber:`+addr+`"}`, "Idempotency-Key", "quentin-once"); status != 202 {
		t.Fatalf("admin send: %d %v", status, body)
	}
	drain(t, a, sender)
	waitForMail(t, a, addr, 2)
	acr := `{"society":"acr","name":"ACR news","url":"` + fs.URL + `/acr/feed.json"}`
	if status, body := adminCall(t, "POST", srv.URL+"/admin/feeds", acr, "Content-Type", "application/json"); status != 201 {
		t.Fatalf("register a feed: %d %v", status, body)
	}
	if sum, err := a.Ingest.Run(ctx, ingest.TriggerManual); err != nil || sum.ItemsNew == 0 {
		t.Fatalf("second ingest: %+v %v", sum, err)
	}
	slotTime := time.Now().UTC().Truncate(time.Hour).Add(time.Hour)
	rep, err := a.Planner().Plan(ctx, delivery.Request{RunID: "erase-digest", Target: delivery.Target{Kind: delivery.TargetDue, Slot: digest.Slot(slotTime)}, Until: slotTime})
	if err != nil || rep.Planned != 1 {
		t.Fatalf("digest plan: %+v %v", rep, err)
	}
	drain(t, a, sender)
	digestMail := waitForMail(t, a, addr, 3)[2]

	// The data links come by mail, asked for from the preferences page.
	prefsLink := digestMail.link(t, "/preferences")
	if p := postForm(t, srv.URL+"/preferences/data-link", url.Values{"token": {tokenIn(t, prefsLink)}}); p.status != 200 {
		t.Fatalf("ask for the data links: %d %s", p.status, p.body)
	}
	dataMail := waitForMail(t, a, addr, 4)[3]

	// The export carries the send log: both sends, this subscriber's only.
	exported := fetch(t, "GET", dataMail.link(t, "/me/export"), "", "")
	var data subscribers.Export
	if exported.status != 200 || json.Unmarshal([]byte(exported.body), &data) != nil {
		t.Fatalf("export: %d %s", exported.status, exported.body)
	}
	var kinds []string
	for _, s := range data.Sends {
		if s.Status != string(delivery.LedgerSent) || s.MessageID == "" || s.SentAt.IsZero() || s.Period == "" {
			t.Errorf("exported send %+v lacks its status, message id, time or period", s)
		}
		kinds = append(kinds, s.Kind)
	}
	if len(data.Sends) != 2 || !slices.Equal(kinds, []string{"digest", "digest"}) {
		t.Errorf("exported send log %+v, want the admin send and the digest", data.Sends)
	}

	// Erase, then read every table.
	eraseLink := dataMail.link(t, "/me/erase")
	if p := postForm(t, eraseLink, url.Values{"token": {tokenIn(t, eraseLink)}}); p.status != 200 {
		t.Fatalf("erase: %d %s", p.status, p.body)
	}
	sum := sha256.Sum256([]byte(addr))
	unsalted := hex.EncodeToString(sum[:])
	peppered := a.Hasher.HashEmail(addr)
	if peppered == unsalted {
		t.Fatal("the address hash is not keyed")
	}
	needles := []string{addr, local, unsalted}

	db := dynamodb.NewFromConfig(a.AWS)
	outputs := stackOf(a).env.Outputs
	var tables []string
	for name, table := range outputs {
		if strings.HasSuffix(name, "TableName") {
			tables = append(tables, table)
		}
	}
	if len(tables) != 7 {
		t.Fatalf("tables %v, want the stack's 7", tables)
	}
	suppressed := false
	for _, table := range tables {
		p := dynamodb.NewScanPaginator(db, &dynamodb.ScanInput{TableName: &table})
		for p.HasMorePages() {
			page, err := p.NextPage(ctx)
			if err != nil {
				t.Fatalf("scan %s: %v", table, err)
			}
			var items []map[string]any
			if err := attributevalue.UnmarshalListOfMaps(page.Items, &items); err != nil {
				t.Fatal(err)
			}
			for _, item := range items {
				raw, err := json.Marshal(item)
				if err != nil {
					t.Fatal(err)
				}
				text := strings.ToLower(string(raw))
				for _, needle := range needles {
					if strings.Contains(text, needle) {
						t.Errorf("table %s still holds %q after the erasure: %s", table, needle, raw)
					}
				}
				if table == outputs["SuppressionsTableName"] && item["email_hash"] == peppered && item["reason"] == string(subscribers.ReasonErased) {
					suppressed = true
				}
			}
		}
	}
	if !suppressed {
		t.Error("no erased suppression keyed by the peppered hash")
	}
}

func itoa(n int) string {
	b, _ := json.Marshal(n)
	return string(b)
}
