package digestmail

import (
	"fmt"
	"testing"

	"github.com/radiogram/radiogram/internal/subscribers"
)

// benchRecipients are the 100 recipients of one distinct digest, with the
// values a real send has: their own address, signed links and reason.
func benchRecipients() []Recipient {
	whys := []string{
		"You get this weekly digest because you chose AI and Screening from all societies.",
		"You get this weekly digest because you chose AI, Screening and Neuroradiology from ESR & RSNA.",
		"You get this weekly digest because you chose Screening from the Société Française de Radiologie.",
	}
	list := make([]Recipient, 100)
	for i := range list {
		token := fmt.Sprintf("v1.%08x.c2lnbmVkLXRva2Vu-%03d_%x", i*2654435761, i, i*i)
		list[i] = Recipient{
			Email:   fmt.Sprintf("radiologist.%03d@hospital-%d.example.org", i, i%7),
			Heading: "16–22 November 2026",
			Why:     whys[i%len(whys)],
			Links: subscribers.Links{
				Preferences: "https://radiogram.example/preferences?token=" + token,
				Unsubscribe: "https://radiogram.example/unsubscribe?token=" + token + "&one-click=1",
			},
		}
	}
	return list
}

// TestBenchRecipientsFillMatchesRender checks, untimed, that the fast path
// of the benchmark makes the same mails as the slow one.
func TestBenchRecipientsFillMatchesRender(t *testing.T) {
	r := NewRenderer(testProduct, testMailto)
	c := weeklyDigest(t, subscribers.FormatHTML)
	tmpl, err := r.Compile(c)
	if err != nil {
		t.Fatal(err)
	}
	for _, rc := range benchRecipients() {
		checkSameMessage(t, r, tmpl, c, rc)
	}
}

// BenchmarkRender compares rendering an 8-item digest for 100 recipients
// with hermes for each mail against compiling it once and filling it in
// 100 times. One iteration makes all 100 mails.
func BenchmarkRender(b *testing.B) {
	r := NewRenderer(testProduct, testMailto)
	c := weeklyDigest(b, subscribers.FormatHTML)
	recipients := benchRecipients()

	b.Run("hermes-per-mail", func(b *testing.B) {
		mails := 0
		for b.Loop() {
			for _, rc := range recipients {
				if _, err := r.Render(c, rc); err != nil {
					b.Fatal(err)
				}
				mails++
			}
		}
		b.ReportMetric(float64(mails)/b.Elapsed().Seconds(), "mails/s")
	})

	b.Run("compile-once-fill-100", func(b *testing.B) {
		mails := 0
		for b.Loop() {
			tmpl, err := r.Compile(c)
			if err != nil {
				b.Fatal(err)
			}
			for _, rc := range recipients {
				if _, err := tmpl.Fill(rc); err != nil {
					b.Fatal(err)
				}
				mails++
			}
		}
		b.ReportMetric(float64(mails)/b.Elapsed().Seconds(), "mails/s")
	})
}
