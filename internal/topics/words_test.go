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
		{"Lung-Cancer Screening Studies", []string{"lung", "cancer", "screening", "study"}},
		{"COVID-19: guidelines, MRI's", []string{"covid", "19", "guideline", "mri", "s"}},
		{"", []string{}},
	}
	for _, tt := range tests {
		if got := Words(tt.in); !slices.Equal(got, tt.want) {
			t.Errorf("Words(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
