package app

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/radiogram/radiogram/internal/admin"
	"github.com/radiogram/radiogram/internal/delivery"
	"github.com/radiogram/radiogram/internal/digest"
	"github.com/radiogram/radiogram/internal/dynamo"
	"github.com/radiogram/radiogram/internal/ingest"
	"github.com/radiogram/radiogram/internal/items"
	"github.com/radiogram/radiogram/internal/subscribers"
	"github.com/radiogram/radiogram/internal/taggerreport"
	"github.com/radiogram/radiogram/internal/topics"
)

// listedItem is an item as GET /admin/items lists it.
type listedItem struct {
	ID     string   `json:"id"`
	Title  string   `json:"title"`
	Topics []string `json:"topics"`
	Scores []struct {
		ID     string `json:"id"`
		Source string `json:"source"`
		Reason string `json:"reason"`
	} `json:"topic_scores"`
}

// adminItems lists GET /admin/items?query.
func adminItems(t *testing.T, base, query string) []listedItem {
	t.Helper()
	req, _ := http.NewRequest("GET", base+"/admin/items?"+query, nil)
	req.Header.Set("Authorization", "Bearer "+testAdminToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out struct {
		Items []listedItem `json:"items"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil || resp.StatusCode != 200 {
		t.Fatalf("GET /admin/items?%s: %d (%v)", query, resp.StatusCode, err)
	}
	return out.Items
}

func findTitle(list []listedItem, prefix string) (listedItem, bool) {
	for _, it := range list {
		if strings.HasPrefix(it.Title, prefix) {
			return it, true
		}
	}
	return listedItem{}, false
}

func hasID(list []listedItem, id string) bool {
	return slices.ContainsFunc(list, func(it listedItem) bool { return it.ID == id })
}

// TestAdminCorrectsTopics: an admin corrects an item's topics through the
// API; the correction is refused when invalid, applies at once to the
// listings by topic and the public feeds, is audited, survives a re-ingest
// of the changed item, reaches the next digest of the new topic's
// subscriber and no longer that of the removed topic's, and the tagger
// report reads it.
func TestAdminCorrectsTopics(t *testing.T) {
	t.Parallel()
	fs := newFeedServer(t)
	a := newTestApp(t, fs.writeRegistry(t, testFeeds[:4]))
	srv := newTestAPI(t, a)
	ctx := context.Background()
	if _, err := a.Ingest.Run(ctx, ingest.TriggerSchedule); err != nil {
		t.Fatal(err)
	}
	drainPlans(t, a)

	const oldTitle = "Joint statement on lung cancer screening"
	target, ok := findTitle(adminItems(t, srv.URL, "society=esr&limit=50"), oldTitle)
	if !ok {
		t.Fatalf("the ESR item %q is not listed", oldTitle)
	}
	before := target.Topics
	removed := before[0]
	newTopics := []string{"education", "events"}
	for _, id := range newTopics {
		if slices.Contains(before, id) {
			t.Fatalf("the tagger gave %q already (%v): choose other topics for the test", id, before)
		}
	}
	topicsURL := srv.URL + "/admin/items/" + target.ID + "/topics"

	for _, c := range []struct {
		url, body string
		want      int
		reason    string
	}{
		{topicsURL, `{"topics":[]}`, 400, "topics must list at least one topic"},
		{topicsURL, `{}`, 400, "topics must list at least one topic"},
		{topicsURL, `{"topics":["ai","astrology"]}`, 400, `unknown topic "astrology"`},
		{topicsURL, `{"topics":["ai","ai"]}`, 400, `topic "ai" is listed twice`},
		{topicsURL, `{"topics":["ai","safety","events","education","policy"]}`, 400, "an item has at most 4 topics; 5 given"},
		{topicsURL, `{"topics":["ai"]`, 400, "invalid JSON body"},
		{srv.URL + "/admin/items/esr-000000000000000000000000/topics", `{"topics":["ai"]}`, 404, `no item "esr-000000000000000000000000"`},
	} {
		status, body := adminCall(t, "PUT", c.url, c.body)
		if reason, _ := body["error"].(string); status != c.want || !strings.Contains(reason, c.reason) {
			t.Errorf("PUT %s %s: %d %v; want %d with %q", c.url, c.body, status, body, c.want, c.reason)
		}
	}
	req, _ := http.NewRequest("PUT", topicsURL, strings.NewReader(`{"topics":["ai"]}`))
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != 401 {
		t.Errorf("PUT without the admin token: %v %v; want 401", resp.StatusCode, err)
	}
	if status, body := adminCall(t, "GET", srv.URL+"/admin/corrections", ""); status != 200 || len(body["corrections"].([]any)) != 0 {
		t.Fatalf("refused corrections were recorded: %d %v", status, body)
	}

	status, body := adminCall(t, "PUT", topicsURL, `{"topics":["education","events"]}`)
	if status != 200 {
		t.Fatalf("correct: %d %v", status, body)
	}
	data, _ := json.Marshal(body)
	var answered listedItem
	_ = json.Unmarshal(data, &answered)
	if !slices.Equal(answered.Topics, newTopics) || answered.Scores[0].Source != items.SourceAdmin || answered.Scores[0].Reason != "set by an admin" {
		t.Errorf("the correction answered %s", data)
	}

	// At once: every listing by topic, read from either index, and the
	// public feed of the topic.
	for _, q := range []string{"topic=education&limit=50", "topic=events&society=esr&limit=50", "topic=education&society=esr,rsna&limit=50"} {
		if !hasID(adminItems(t, srv.URL, q), target.ID) {
			t.Errorf("GET /admin/items?%s does not list the corrected item", q)
		}
	}
	for _, q := range []string{"topic=" + removed + "&limit=50", "topic=" + removed + "&society=esr&limit=50"} {
		if hasID(adminItems(t, srv.URL, q), target.ID) {
			t.Errorf("GET /admin/items?%s still lists the item under the topic the admin removed", q)
		}
	}
	if page := get(t, srv.URL+"/news/topic/education"); !strings.Contains(page, oldTitle) {
		t.Errorf("the archive's education listing lacks the corrected item")
	}
	if feed := get(t, srv.URL+"/feeds/topic/education.json"); !strings.Contains(feed, oldTitle) {
		t.Errorf("the education feed lacks the corrected item:\n%s", feed)
	}
	if feed := get(t, srv.URL+"/feeds/topic/"+removed+".json"); strings.Contains(feed, oldTitle) {
		t.Errorf("the %s feed still carries the item the admin took out of it", removed)
	}

	// Audited.
	var corrections struct {
		Corrections []admin.Correction `json:"corrections"`
	}
	getJSON(t, srv.URL+"/admin/corrections?limit=10", &corrections)
	if len(corrections.Corrections) != 1 {
		t.Fatalf("%d corrections recorded, want 1", len(corrections.Corrections))
	}
	c := corrections.Corrections[0]
	gotBefore := make([]string, len(c.Before))
	for i, t := range c.Before {
		gotBefore[i] = t.ID
	}
	if c.ItemID != target.ID || c.Society != "esr" || c.Title != oldTitle || c.Summary == "" || !slices.Equal(gotBefore, before) ||
		len(c.After) != 2 || c.After[0].ID != "education" || c.After[0].Source != items.SourceAdmin || c.By != "admin (api)" || time.Since(c.At) > time.Minute {
		t.Errorf("correction recorded as %+v; want the item's snapshot, topics %v before, education and events after, by the API", c, before)
	}
	_, audit := adminCall(t, "GET", srv.URL+"/admin/audit", "")
	if !strings.Contains(fmt.Sprint(audit), "item.topics") {
		t.Errorf("the audit log lacks the correction: %v", audit)
	}

	// A later ingest of the item, changed, keeps the admin's topics.
	const newTitle = "Joint statement on lung cancer screening, revised"
	fs.esrTitle.Store(newTitle)
	sum, err := a.Ingest.Run(ctx, ingest.TriggerManual)
	if err != nil || sum.ItemsUpdated != 1 {
		t.Fatalf("re-ingest: %d updated (%v), want the changed item", sum.ItemsUpdated, err)
	}
	after, ok := findTitle(adminItems(t, srv.URL, "society=esr&limit=50"), newTitle)
	if !ok || after.ID != target.ID || !slices.Equal(after.Topics, newTopics) || after.Scores[0].Source != items.SourceAdmin {
		t.Errorf("after a re-ingest the item reads %+v; want the new title with the admin's topics %v", after, newTopics)
	}

	// The next digest: the new topic's subscriber gets the item, the
	// removed topic's does not.
	addConfirmed(t, a, "learner@hospital.test", nextHourPrefs([]string{"education"}, nil, subscribers.FormatText))
	addConfirmed(t, a, "removed@hospital.test", nextHourPrefs([]string{removed}, nil, subscribers.FormatText))
	slotTime := time.Now().UTC().Truncate(time.Hour).Add(time.Hour)
	if _, err := a.Planner().Plan(ctx, delivery.Request{RunID: "corrected-1", Target: delivery.Target{Kind: delivery.TargetDue, Slot: digest.Slot(slotTime)}, Until: slotTime}); err != nil {
		t.Fatal(err)
	}
	sender, err := a.Sender(ctx)
	if err != nil {
		t.Fatal(err)
	}
	drain(t, a, sender)
	if box := mailbox(t, a, "learner@hospital.test"); len(box) != 1 || !strings.Contains(box[0].Text, newTitle) {
		t.Errorf("the education subscriber got %d mails; want one with %q", len(box), newTitle)
	}
	for _, m := range mailbox(t, a, "removed@hospital.test") {
		if strings.Contains(m.Text, "lung cancer screening") {
			t.Errorf("the %s subscriber still got the item the admin took out of %s", removed, removed)
		}
	}

	// A digest planned before a correction and sent after it keeps the
	// items chosen when it was planned, shown as they are when it is sent:
	// an item whose corrected topics are none of its reader's is left out,
	// and no reader gains the item the correction gave their topic.
	const aiTitle = "ESR launches AI Register"
	register, ok := findTitle(adminItems(t, srv.URL, "society=esr&limit=50"), aiTitle)
	if !ok || !slices.Contains(register.Topics, "ai") || slices.Contains(register.Topics, "safety") || slices.Contains(register.Topics, "covid") {
		t.Fatalf("the fixtures no longer suit this test: %+v", register)
	}
	addConfirmed(t, a, "planned@hospital.test", nextHourPrefs([]string{"ai", "safety"}, nil, subscribers.FormatText))
	addConfirmed(t, a, "other@hospital.test", nextHourPrefs([]string{"covid", "safety"}, nil, subscribers.FormatText))
	if _, err := a.Planner().Plan(ctx, delivery.Request{RunID: "corrected-2", Target: delivery.Target{Kind: delivery.TargetDue, Slot: digest.Slot(slotTime)}, Until: slotTime}); err != nil {
		t.Fatal(err)
	}
	if status, body := adminCall(t, "PUT", srv.URL+"/admin/items/"+register.ID+"/topics", `{"topics":["covid"]}`); status != 200 {
		t.Fatalf("correct %s: %d %v", register.ID, status, body)
	}
	drain(t, a, sender)
	for _, addr := range []string{"planned@hospital.test", "other@hospital.test"} {
		box := mailbox(t, a, addr)
		if len(box) != 1 || !strings.Contains(box[0].Text, "safety") {
			t.Fatalf("%s got %d mails, want one with the safety items", addr, len(box))
		}
		if strings.Contains(box[0].Text, aiTitle) {
			t.Errorf("%s got the item corrected after planning: %s", addr, box[0].Text)
		}
	}

	// A correction racing an ingest: the ingest stores the item between
	// the correction's read and its write. The correction reads again, so
	// that its "before" is what it replaced, and the ingest's next write
	// leaves its topics alone.
	rsna, ok := findTitle(adminItems(t, srv.URL, "society=rsna&limit=50"), "")
	if !ok {
		t.Fatal("no RSNA item")
	}
	stored, err := a.Items.GetMany(ctx, []string{rsna.ID})
	if err != nil || len(stored) != 1 {
		t.Fatalf("read %s: %v", rsna.ID, err)
	}
	reTagged := stored[0]
	reTagged.Topics = []items.TopicScore{{ID: "research", Score: 0.7, Source: items.SourceRules, Matched: []items.Match{{Term: "study", Field: "summary"}}}}
	reTagged.UpdatedAt = time.Now().UTC()
	racing := dynamo.NewCorrectionStore(&ingestFirst{TxAPI: dynamodb.NewFromConfig(a.AWS), ingest: func() {
		if err := a.Items.Update(ctx, reTagged); err != nil {
			t.Error(err)
		}
	}}, a.Config.ItemsTable, a.Config.AdminTable)
	got, rec, err := racing.Correct(ctx, admin.Correction{ItemID: rsna.ID, After: []items.TopicScore{{ID: "policy", Score: 1, Source: items.SourceAdmin}}, By: "admin (api)", At: time.Now().UTC()})
	if err != nil {
		t.Fatal(err)
	}
	if len(rec.Before) != 1 || rec.Before[0].ID != "research" || len(rec.Before[0].Matched) != 1 || got.TopicIDs()[0] != "policy" {
		t.Errorf("racing correction: before %+v, item topics %v; want research before (the ingest's), policy after", rec.Before, got.TopicIDs())
	}
	reTagged.Title, reTagged.Topics = "Changed again", []items.TopicScore{{ID: "workforce", Score: 0.5, Source: items.SourceFallback}}
	if err := a.Items.Update(ctx, reTagged); err != nil {
		t.Fatal(err)
	}
	if stored, err = a.Items.GetMany(ctx, []string{rsna.ID}); err != nil || stored[0].Title != "Changed again" || !slices.Equal(stored[0].TopicIDs(), []string{"policy"}) {
		t.Errorf("after an ingest's update the item reads %+v (%v); want its new title and the admin's topics", stored, err)
	}

	// The tagger report reads both corrections from the store the
	// environment names.
	var out bytes.Buffer
	if err := TaggerReport(ctx, func(k string) string { return stackOf(a).vars[k] }, &out); err != nil {
		t.Fatal(err)
	}
	var all []admin.Correction
	getJSON(t, srv.URL+"/admin/corrections", &struct {
		Corrections *[]admin.Correction `json:"corrections"`
	}{&all})
	score := taggerreport.Measure(taggerreport.FromCorrections(all), reportTag(a.Ingest.Tagger.(*topics.Tagger), a.Ingest.Registry.TopicsBySociety()))
	for _, want := range []string{
		"Corrections: 3, of 3 items",
		fmt.Sprintf("overall  precision %.2f  recall %.2f  micro-F1 %.2f  exactly right 0 of 3", score.Micro.Precision(), score.Micro.Recall(), score.Micro.F1()),
		"    1  " + removed + " ← ",
		"Topics admins added most often (the tagger missed them):\n    1  covid\n    1  education\n    1  events\n    1  policy",
		"Labelled corpus (internal/topics/corpus):",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("the report lacks %q:\n%s", want, out.String())
		}
	}
	// The report prints the top ten; the racing correction's rule is among
	// all of them.
	if blamed := taggerreport.Blame(all); !slices.Contains(blamed, taggerreport.Tally{What: `research ← "study" (summary)`, N: 1}) {
		t.Errorf("the rules behind corrections lack the racing correction's: %v", blamed)
	}
}

// ingestFirst runs ingest once, before the first transaction: an ingest
// landing between a correction's read and its write.
type ingestFirst struct {
	dynamo.TxAPI
	ingest func()
	done   bool
}

func (f *ingestFirst) TransactWriteItems(ctx context.Context, in *dynamodb.TransactWriteItemsInput, opts ...func(*dynamodb.Options)) (*dynamodb.TransactWriteItemsOutput, error) {
	if !f.done {
		f.done = true
		f.ingest()
	}
	return f.TxAPI.TransactWriteItems(ctx, in, opts...)
}

func get(t *testing.T, url string) string {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	return string(data)
}

func getJSON(t *testing.T, url string, v any) {
	t.Helper()
	req, _ := http.NewRequest("GET", url, nil)
	req.Header.Set("Authorization", "Bearer "+testAdminToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil || resp.StatusCode != 200 {
		t.Fatalf("GET %s: %d (%v)", url, resp.StatusCode, err)
	}
}

// TestTaggerReportWithoutStore: with no tables configured the report
// measures the corpus alone and says that it read no corrections.
func TestTaggerReportWithoutStore(t *testing.T) {
	var out bytes.Buffer
	if err := TaggerReport(context.Background(), func(string) string { return "" }, &out); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"Corrections: not read (no store configured", "Labelled corpus (internal/topics/corpus):", "Split tune:", "Split holdout:"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("the report lacks %q:\n%s", want, out.String())
		}
	}
}
