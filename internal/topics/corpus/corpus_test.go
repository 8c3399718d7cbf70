package corpus_test

import (
	"crypto/sha256"
	"math/big"
	"net/url"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/radiogram/radiogram/infra"
	"github.com/radiogram/radiogram/internal/topics"
	"github.com/radiogram/radiogram/internal/topics/corpus"
)

// TestCorpus checks the corpus is what its notes promise: big enough, well
// formed, labelled with known topics, and split by a hash of each item's id
// alone, so no item can be moved between splits to flatter the tagger.
func TestCorpus(t *testing.T) {
	all, err := corpus.Items()
	if err != nil {
		t.Fatal(err)
	}
	tax, err := topics.Load(infra.Topics)
	if err != nil {
		t.Fatal(err)
	}
	ids := make(map[string]bool, len(all))
	titles := make(map[string]string, len(all))
	sources := make(map[string]string, len(all))
	splits := map[string]int{}
	for _, it := range all {
		if ids[it.ID] {
			t.Errorf("%s: duplicate id", it.ID)
		}
		ids[it.ID] = true
		key := it.Society + "\x00" + strings.ToLower(it.Title)
		if other, dup := titles[key]; dup {
			t.Errorf("%s: same society and title as %s", it.ID, other)
		}
		titles[key] = it.ID
		// The same page's item read twice, under two spellings of its
		// publisher, would be in both splits.
		read := strings.TrimSuffix(it.Source, "/") + "\x00" + strings.ToLower(it.Title)
		if other, dup := sources[read]; dup {
			t.Errorf("%s: the same item of the same page as %s", it.ID, other)
		}
		sources[read] = it.ID
		if u, err := url.Parse(it.Source); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			t.Errorf("%s: source %q is not a web address", it.ID, it.Source)
		}
		if strings.TrimSpace(it.Title) == "" || strings.TrimSpace(it.Summary) == "" || it.Society == "" {
			t.Errorf("%s: empty title, summary or society", it.ID)
		}
		if n := utf8.RuneCountInString(it.Summary); n > 450 {
			t.Errorf("%s: summary of %d characters; a lead is condensed to about 300", it.ID, n)
		}
		if len(it.Topics) == 0 || len(it.Topics) > 4 {
			t.Errorf("%s: %d topics, want 1 to 4", it.ID, len(it.Topics))
		}
		for _, id := range it.Topics {
			if _, ok := tax.Lookup(id); !ok {
				t.Errorf("%s: unknown topic %q", it.ID, id)
			}
		}
		if want := splitOf(it.ID); it.Split != want {
			t.Errorf("%s: split %q, want %q (a hash of the id decides)", it.ID, it.Split, want)
		}
		splits[it.Split]++
	}
	if len(all) < 300 || splits[corpus.Tune] < 200 || splits[corpus.Holdout] < 100 {
		t.Errorf("%d items, %d tune, %d holdout; want at least 300, 200 and 100",
			len(all), splits[corpus.Tune], splits[corpus.Holdout])
	}
}

// splitOf is the fixed split: a third of the ids, by their SHA-256, are held out.
func splitOf(id string) string {
	sum := sha256.Sum256([]byte(id))
	if new(big.Int).Mod(new(big.Int).SetBytes(sum[:]), big.NewInt(3)).Sign() == 0 {
		return corpus.Holdout
	}
	return corpus.Tune
}
