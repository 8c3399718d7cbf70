package keywords

import (
	"fmt"
	"testing"
)

func TestPhraseMatches(t *testing.T) {
	tests := []struct {
		name           string
		phrase         string
		title, summary string
		want           bool
	}{
		{"exact", "lung cancer screening", "Lung cancer screening in Europe", "", true},
		{"case", "LUNG CANCER", "lung cancer programme", "", true},
		{"in the summary", "lung cancer screening", "News", "A statement on lung cancer screening.", true},
		{"accents in the text", "societe francaise", "La Société Française de Radiologie", "", true},
		{"accents in the phrase", "échographie", "Echographie update", "", true},
		{"stemming: -ed", "screening", "Women screened early", "", true},
		{"stemming: plural", "screening", "Screens for everyone", "", true},
		{"stemming: -ing from a plain verb", "screen", "Screening saves lives", "", true},
		{"stemming: -ied", "studied", "Two new studies", "", true},
		{"stemming: -e", "image", "Imaging in the ED", "", true},
		{"word boundary: AI is not in said", "AI", "The president said so", "", false},
		{"word boundary: whole word", "AI", "AI in radiology", "", true},
		{"word boundary: hyphen splits", "AI", "AI-based triage", "", true},
		{"word boundary: prefix is not a match", "cancer", "Cancerous lesions", "", false},
		{"multi-word needs order", "lung cancer screening", "Screening for lung cancer", "", false},
		{"multi-word needs adjacency", "lung screening", "Lung cancer screening", "", false},
		{"multi-word across punctuation", "lung cancer screening", "Lung-cancer: screening", "", true},
		{"never across title and summary", "cancer screening", "Lung cancer", "Screening starts", false},
		{"digits", "covid 19", "COVID-19 guidance withdrawn", "", true},
		{"digits whole", "19", "Published 2019", "", false},
		{"empty text", "ai", "", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ps := Compile([]string{tt.phrase})
			if len(ps) != 1 {
				t.Fatalf("Compile(%q) = %d phrases", tt.phrase, len(ps))
			}
			text := Tokenize(tt.title, tt.summary)
			if got := ps[0].Matches(text); got != tt.want {
				t.Errorf("%q in %q / %q: %v, want %v", tt.phrase, tt.title, tt.summary, got, tt.want)
			}
			// The index must agree with the direct comparison.
			if got := NewIndex([]Text{Tokenize("x", "y"), text}).Match(ps[0]).Has(1); got != tt.want {
				t.Errorf("index: %q in %q / %q: %v, want %v", tt.phrase, tt.title, tt.summary, got, tt.want)
			}
		})
	}
}

func TestCompileSkipsPhrasesWithoutWords(t *testing.T) {
	ps := Compile([]string{"--", "MRI", " ", "Lung Cancer"})
	if len(ps) != 2 || ps[0].Text != "MRI" || ps[1].Text != "Lung Cancer" {
		t.Fatalf("Compile = %+v", ps)
	}
	if ps[1].Key() != "lung cancer" {
		t.Errorf("key %q", ps[1].Key())
	}
	if Compile([]string{"Screenings"})[0].Key() != Compile([]string{"screening"})[0].Key() {
		t.Error("a plural and its singular have different keys")
	}
}

func TestFirst(t *testing.T) {
	ps := Compile([]string{"covid", "lung cancer", "cancer"})
	text := Tokenize("Lung cancer and COVID", "")
	if p, ok := First(ps, text); !ok || p.Text != "covid" {
		t.Errorf("First = %q, %v; want the first phrase in order", p.Text, ok)
	}
	if _, ok := First(ps, Tokenize("Cardiac MRI", "")); ok {
		t.Error("First matched a text without any phrase")
	}
}

func TestIndexMatchesManyTexts(t *testing.T) {
	var texts []Text
	for i := range 200 {
		title := fmt.Sprintf("Item %d on cardiac imaging", i)
		if i%7 == 0 {
			title = fmt.Sprintf("Item %d: lung cancer screening works", i)
		}
		texts = append(texts, Tokenize(title, ""))
	}
	x := NewIndex(texts)
	if x.Len() != 200 {
		t.Fatalf("Len %d", x.Len())
	}
	bits := x.Match(Compile([]string{"lung cancer screened"})[0])
	for i := range 200 {
		if bits.Has(i) != (i%7 == 0) {
			t.Errorf("text %d: match %v", i, bits.Has(i))
		}
	}
	if bits.Has(500) || Bits(nil).Has(0) {
		t.Error("Has beyond the set")
	}
	all := NewBits(200)
	all.Or(bits)
	all.Or(x.Match(Compile([]string{"item 1"})[0]))
	if !all.Has(1) || !all.Has(7) || all.Has(2) {
		t.Error("Or lost or added positions")
	}
}

func BenchmarkTokenize(b *testing.B) {
	title := "ESR statement on lung cancer screening with low-dose CT in Europe"
	summary := "The European Society of Radiology published a statement on implementing lung cancer screening programmes, with recommendations on quality assurance, AI-based reading and workforce."
	for b.Loop() {
		Tokenize(title, summary)
	}
}
