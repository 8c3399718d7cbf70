package mailcheck

import (
	"math"
	"strings"
	"testing"
)

func TestContrast(t *testing.T) {
	tests := []struct {
		a, b string
		want float64
	}{
		{"#000000", "#FFFFFF", 21},
		{"#FFFFFF", "#FFFFFF", 1},
		{"#777777", "#FFFFFF", 4.48}, // the classic just-failing grey
		{"#9BA2AB", "#FFFFFF", 2.6},  // hermes' old meta grey (issue 13)
	}
	for _, tt := range tests {
		got, err := Contrast(tt.a, tt.b)
		if err != nil || math.Abs(got-tt.want) > 0.05 {
			t.Errorf("Contrast(%s, %s) = %.2f, %v; want %.2f", tt.a, tt.b, got, err, tt.want)
		}
	}
	if _, err := Contrast("red", "#FFFFFF"); err == nil {
		t.Error("Contrast of a colour name succeeded")
	}
}

func TestAccessible(t *testing.T) {
	good := `<!DOCTYPE html><html lang="en"><head><title>T</title><meta name="color-scheme" content="light dark"><style>@media (prefers-color-scheme: dark) {}</style></head>` +
		`<body><table role="presentation"><tr><td><h1>a</h1><h2>b</h2><img src="x" alt=""></td></tr></table></body></html>`
	if err := Accessible(good); err != nil {
		t.Errorf("good page: %v", err)
	}
	for name, bad := range map[string]string{
		"no lang":       strings.Replace(good, ` lang="en"`, "", 1),
		"no title":      strings.Replace(good, "<title>T</title>", "", 1),
		"layout table":  strings.Replace(good, ` role="presentation"`, "", 1),
		"skipped level": strings.Replace(good, "<h2>b</h2>", "<h3>b</h3>", 1),
		"no alt":        strings.Replace(good, ` alt=""`, "", 1),
		"no dark":       strings.Replace(good, "prefers-color-scheme: dark", "max-width: 600px", 1),
		"text-shadow":   strings.Replace(good, "<h1>", `<h1 style="text-shadow:0 0 2px #000">`, 1),
	} {
		if Accessible(bad) == nil {
			t.Errorf("%s: passed", name)
		}
	}
}
