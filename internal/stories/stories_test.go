package stories

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
)

func TestNormalise(t *testing.T) {
	tests := []struct {
		in   string
		want []string
	}{
		{"Société Française de Radiologie", []string{"societe", "francaise", "de", "radiologie"}},
		{"The ESR's statement on AI — in screening!", []string{"esr", "statement", "ai", "screening"}},
		{"Lung-cancer SCREENING studies", []string{"lung", "cancer", "screening", "study"}},
	}
	for _, tt := range tests {
		if got := Normalise(tt.in); !slices.Equal(got, tt.want) {
			t.Errorf("Normalise(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

const (
	release = "OAK BROOK, Ill. — When making diagnostic decisions, radiologists and other physicians may rely too much on artificial intelligence when it points out a specific area of interest in an X-ray, according to a study published today in Radiology."
	reprint = "When making diagnostic decisions, radiologists and other physicians may rely too much on artificial intelligence when it points out a specific area of interest in an X-ray, according to a study published in Radiology. Subscribe for more."
	other   = "A new study of 10,000 simulated patients finds CT colonography more cost-effective than stool DNA tests for colorectal cancer screening from age 45."
)

func TestSimilarity(t *testing.T) {
	a := Sign("Incorrect AI Advice Influences Diagnostic Decisions", release)
	b := Sign("Doctors follow wrong AI advice, study finds", reprint)
	c := Sign("CT colonography beats stool DNA testing", other)
	short := Sign("Annual meeting", "")
	if s := Score(&a, &b); s < Threshold {
		t.Errorf("release and reprint: score %.3f, want ≥ %.2f", s, Threshold)
	}
	if s := Score(&a, &c); s >= Threshold {
		t.Errorf("two stories: score %.3f, want < %.2f", s, Threshold)
	}
	if a2 := Sign("Incorrect AI Advice Influences Diagnostic Decisions", release); Similarity(&a, &a2) != 1 {
		t.Error("the same text signed twice differs: seeds are not fixed")
	}
	if short.Valid() || Score(&short, &short) != 0 {
		t.Error("a two-word text was compared; want too short to resemble anything")
	}
}

// TestSameHeadline: the same headline of MinHeadlineWords words or more
// is one story however different the leads; a shorter one, or one whose
// numbers conflict, is not.
func TestSameHeadline(t *testing.T) {
	tests := []struct {
		name           string
		titleA, titleB string
		want           bool
	}{
		{"same long headline", "RSNA announces global learning center in Peru", "RSNA Announces Global Learning Center in Peru", true},
		{"short headline", "EFSUMB during the pandemic", "EFSUMB during the pandemic", false},
		{"conflicting numbers", "KCR 2016 opens its doors in Seoul", "KCR 2017 opens its doors in Seoul", false},
	}
	for _, tt := range tests {
		a, b := Sign(tt.titleA, release), Sign(tt.titleB, other)
		if got := Score(&a, &b) >= Threshold; got != tt.want {
			t.Errorf("%s: score %.3f, same story %v; want %v", tt.name, Score(&a, &b), got, tt.want)
		}
		x := NewIndex()
		x.Add(Entry{Key: "a", Feed: "fa"}, a)
		if _, found := x.Find("fb", b); found != tt.want {
			t.Errorf("%s: the index found it %v; want %v", tt.name, found, tt.want)
		}
	}
}

func TestNumbersConflict(t *testing.T) {
	body := "New research has been published ahead of print by the journal, which the society publishes to advance nuclear medicine and molecular imaging."
	tests := []struct {
		a, b string
		want bool
	}{
		{"Tip sheet: October 6, 2025", "Tip sheet: September 12, 2025", true},
		{"KCR 2016 opens in Seoul", "KCR 2017 opens in Seoul", true},
		{"ASRT names 2023 award winners", "2023 ASRT award winners named", false},
		{"Study of 220 physicians: AI advice misleads", "Incorrect AI advice misleads physicians", false},
	}
	for _, tt := range tests {
		a, b := Sign(tt.a, body), Sign(tt.b, body)
		if got := Score(&a, &b) == 0; got != tt.want {
			t.Errorf("%q vs %q: conflict %v, want %v", tt.a, tt.b, got, tt.want)
		}
	}
}

func TestIndex(t *testing.T) {
	x := NewIndex()
	x.Add(Entry{Key: "rsna-1", Feed: "rsna-news"}, Sign("Incorrect AI Advice Influences Diagnostic Decisions", release))
	x.Add(Entry{Key: "acr-1", Feed: "acr-news"}, Sign("CT colonography beats stool DNA testing", other))
	x.Add(Entry{Key: "short", Feed: "x"}, Sign("News", ""))
	if x.Len() != 2 {
		t.Fatalf("Len = %d, want 2 (a too short text is not indexed)", x.Len())
	}
	sig := Sign("Doctors follow wrong AI advice, study finds", reprint)

	m, ok := x.Find("sciencedaily", sig)
	if !ok || m.Key != "rsna-1" || m.Story != "rsna-1" || m.Similarity < Threshold {
		t.Fatalf("Find = %+v, %v; want rsna-1, its own story", m, ok)
	}
	if m, ok := x.Find("rsna-news", sig); ok {
		t.Errorf("Find from the same feed = %+v; want nothing: a feed's items never group", m)
	}
	// A third copy joins the story of the first, not of the copy it
	// resembles most.
	x.Add(Entry{Key: "sd-1", Feed: "sciencedaily", Story: m.Story}, sig)
	third := Sign("Doctors follow wrong AI advice, study finds", reprint+" More at the site.")
	if m, ok := x.Find("press-news", third); !ok || m.Story != "rsna-1" {
		t.Errorf("Find third copy = %+v, %v; want story rsna-1", m, ok)
	}
	// The first feed's own later copy is not its story's member: a story
	// has one member per feed.
	if m, ok := x.Find("rsna-news", third); ok {
		t.Errorf("Find from a feed the story has = %+v; want nothing", m)
	}
	x.Remove("sd-1")
	x.Remove("rsna-1")
	if m, ok := x.Find("press-news", third); ok {
		t.Errorf("Find after Remove = %+v; want nothing", m)
	}
}

// BenchmarkFind is the cost of looking one new item up in an index of n
// recent items from 40 feeds (signing it included), as ingest does per
// new item. The indexed texts are drawn at random from the words of the
// labelled pairs (8-word titles, 40-word leads), so they share vocabulary
// as one field's news does; the probe is a real item.
func BenchmarkFind(b *testing.B) {
	l := readPairs(b)
	var vocab []string
	for _, it := range l.Items {
		vocab = append(vocab, strings.Fields(it.Title+" "+it.Summary)...)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	text := func(n int) string {
		w := make([]string, n)
		for i := range w {
			w[i] = vocab[rng.IntN(len(vocab))]
		}
		return strings.Join(w, " ")
	}
	probe := l.Items[0]
	for _, n := range []int{1000, 10000, 50000} {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			x := NewIndex()
			for i := range n {
				x.Add(Entry{Key: fmt.Sprint(i), Feed: fmt.Sprint(i % 40)}, Sign(text(8), text(40)))
			}
			b.ResetTimer()
			for b.Loop() {
				sig := Sign(probe.Title, lead(probe.Summary))
				if _, ok := x.Find("probe", sig); ok {
					b.Fatal("a random text matched the probe")
				}
			}
		})
	}
}

// BenchmarkSign is the cost of one signature.
func BenchmarkSign(b *testing.B) {
	for b.Loop() {
		Sign("Incorrect AI Advice Influences Diagnostic Decisions", release)
	}
}
