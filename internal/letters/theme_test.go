package letters

import (
	"strings"
	"testing"

	"github.com/radiogram/radiogram/internal/mailcheck"
	"github.com/radiogram/radiogram/internal/subscribers"
)

// TestContrast holds every text colour of both schemes to WCAG AA on each
// background the theme draws it on. -v prints the table.
func TestContrast(t *testing.T) {
	for _, scheme := range []struct {
		name    string
		colours Colours
	}{{"light", Light}, {"dark", Dark}} {
		for _, p := range scheme.colours.Pairs() {
			ratio, err := mailcheck.Contrast(p.Text, p.Back)
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("%-5s  %-20s  %s on %s  %5.2f:1", scheme.name, p.Name, p.Text, p.Back, ratio)
			if ratio < 4.5 {
				t.Errorf("%s %s: %s on %s is %.2f:1, want at least 4.5:1", scheme.name, p.Name, p.Text, p.Back, ratio)
			}
		}
	}
	// The dark styles must name each dark colour: a scheme that is not in
	// the page does not protect anyone.
	for _, c := range []string{Dark.Page, Dark.Card, Dark.Text, Dark.Muted, Dark.Link, Dark.BadgeBg, Dark.BadgeText, Dark.Button, Dark.OnButton, Dark.Quiet, Dark.OnQuiet} {
		if !strings.Contains(MailHead, c+" !important") {
			t.Errorf("dark colour %s is not in the dark styles", c)
		}
	}
}

func TestLettersAccessible(t *testing.T) {
	c := NewComposer(testProduct)
	conf, err := c.Confirmation(testSubscriber(subscribers.FormatHTML), testTopicNames, testLinks)
	if err != nil {
		t.Fatal(err)
	}
	manage, err := c.Manage(testSubscriber(subscribers.FormatHTML), testLinks)
	if err != nil {
		t.Fatal(err)
	}
	for name, page := range map[string]string{"confirmation": conf.HTML, "manage": manage.HTML} {
		if err := mailcheck.Accessible(page); err != nil {
			t.Errorf("%s: %v", name, err)
		}
		if !strings.Contains(page, "<title>"+map[string]string{"confirmation": conf.Subject, "manage": manage.Subject}[name]+"</title>") {
			t.Errorf("%s: the title is not the subject", name)
		}
	}
}

// TestConfirmationTextWrapped: every line of the text part fits 78
// characters, but for the links, which must not break.
func TestConfirmationTextWrapped(t *testing.T) {
	s := testSubscriber(subscribers.FormatText)
	names := []string{"Breast imaging", "Neuroradiology", "Musculoskeletal imaging", "Paediatric radiology", "Interventional radiology", "Radiation & patient safety", "AI & informatics"}
	m, err := NewComposer(testProduct).Confirmation(s, names, testLinks)
	if err != nil {
		t.Fatal(err)
	}
	for line := range strings.SplitSeq(m.Text, "\n") {
		if len([]rune(line)) > 78 && !strings.HasPrefix(line, "https://") {
			t.Errorf("line of %d characters: %q", len([]rune(line)), line)
		}
	}
	if !strings.Contains(m.Text, "\n             Paediatric") && !strings.Contains(m.Text, "\n             ") {
		t.Errorf("a wrapped fact is not indented under its value:\n%s", m.Text)
	}
}
