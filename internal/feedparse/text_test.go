package feedparse

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func TestPlainText(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want string
	}{
		{"plain", "  Hello \n\t world  ", "Hello world"},
		{"tags stripped", "<p>Hello <b>bold</b> world</p>", "Hello bold world"},
		{"entities decoded", "Caf&eacute; &amp; cr&#232;me &lt;3 &nbsp;x", "Café & crème <3 x"},
		{"blocks separate words", "<p>one</p><p>two</p><ul><li>three</li><li>four</li></ul>line<br>break", "one two three four line break"},
		{"inline elements do not", "un<b>believ</b>able <a href=\"/x\">link</a>s", "unbelievable links"},
		{"script and style text dropped", "<script>var x = 1;</script>Visible<style>p{}</style> text", "Visible text"},
		{"comments dropped", "a<!-- hidden -->b", "ab"},
		{"stray less-than kept", "1 < 2", "1 < 2"},
		{"empty", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := plainText(tt.in); got != tt.want {
				t.Errorf("plainText(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestTruncateWords(t *testing.T) {
	tests := []struct {
		name  string
		in    string
		limit int
		want  string
	}{
		{"short text unchanged", "Short text", 20, "Short text"},
		{"exact length unchanged", "abcde fghij", 11, "abcde fghij"},
		{"cut at the last space", "The quick brown fox jumps", 12, "The quick…"},
		{"cut before a space the limit lands on", "The quick brown fox", 9, "The quick…"},
		{"trailing punctuation dropped", "Imaging, radiology and more", 10, "Imaging…"},
		{"multi-byte runes counted as one", "Société française de radiologie", 16, "Société…"},
		{"one long word is cut", "Pneumonoultramicroscopicsilicovolcanoconiosis", 10, "Pneumonoul…"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := truncateWords(tt.in, tt.limit)
			if got != tt.want {
				t.Errorf("truncateWords(%q, %d) = %q, want %q", tt.in, tt.limit, got, tt.want)
			}
			if n := utf8.RuneCountInString(got); n > tt.limit+1 {
				t.Errorf("result has %d runes, more than %d", n, tt.limit+1)
			}
		})
	}
}

// Every cut of a long text at the summary length ends on a whole word.
func TestTruncateWordsNeverCutsMidWord(t *testing.T) {
	words := strings.Fields("radiology imaging é ultrasound tomography MRI résumé contrast x-ray fluoroscopy")
	var text strings.Builder
	for i := 0; text.Len() < 2000; i++ {
		text.WriteString(words[i%len(words)] + " ")
	}
	full := strings.TrimSpace(text.String())
	for offset := range 60 {
		in := full[strings.Index(full[offset:], " ")+offset+1:]
		got := truncateWords(in, summaryLength)
		if n := utf8.RuneCountInString(got); n > summaryLength+1 {
			t.Fatalf("summary has %d runes", n)
		}
		kept := strings.TrimSuffix(got, "…")
		if !strings.HasPrefix(in, kept) || in[len(kept)] != ' ' {
			t.Fatalf("cut mid-word: %q", got[len(got)-20:])
		}
	}
}
