package topics

import (
	"slices"
	"testing"
)

func TestWords(t *testing.T) {
	tests := []struct {
		in   string
		want []string
	}{
		{"Lung cancer screenings", []string{"lung", "cancer", "screening"}},
		{"Société Française de Radiologie", []string{"societe", "francaise", "de", "radiologie"}},
		{"MRI-guided biopsy, COVID-19", []string{"mri", "guided", "biopsy", "covid", "19"}},
		{"ÉCHOGRAPHIE  pédiatrique", []string{"echographie", "pediatrique"}},
		{"Studies said AI", []string{"study", "said", "ai"}},
		{"", []string{}},
		{" -- ", []string{}},
	}
	for _, tt := range tests {
		if got := Words(tt.in); !slices.Equal(got, tt.want) {
			t.Errorf("Words(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestFold(t *testing.T) {
	tests := map[string]string{
		"RSNA":            "rsna",
		"Ré-évaluation":   "re-evaluation",
		"Straße Øresund":  "straße øresund",
		"naïve coöperate": "naive cooperate",
		"e\u0301":         "e", // an already decomposed accent
	}
	for in, want := range tests {
		if got := Fold(in); got != want {
			t.Errorf("Fold(%q) = %q, want %q", in, got, want)
		}
	}
}
