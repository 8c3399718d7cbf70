package topics

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"
)

// WithModel returns a taxonomy file with its model replaced by m (removed
// when m is nil), in Format's layout.
func WithModel(data []byte, m *Model) ([]byte, error) {
	var f taxonomyFile
	if err := json.Unmarshal(data, &f); err != nil {
		return nil, fmt.Errorf("parse taxonomy: %w", err)
	}
	f.Model = m
	if err := f.validate(); err != nil {
		return nil, fmt.Errorf("invalid taxonomy: %w", err)
	}
	return f.format(), nil
}

// Format rewrites a taxonomy file in its canonical layout: settings first,
// then each topic with one rule per line, then the model (if any) with one
// feature's weights per line, by name. radiogram-tagger-train writes the
// file this way, so a diff of a training run shows only what it changed.
func Format(data []byte) ([]byte, error) {
	var f taxonomyFile
	if err := json.Unmarshal(data, &f); err != nil {
		return nil, fmt.Errorf("parse taxonomy: %w", err)
	}
	if err := f.validate(); err != nil {
		return nil, fmt.Errorf("invalid taxonomy: %w", err)
	}
	return f.format(), nil
}

func (f *taxonomyFile) format() []byte {
	var b bytes.Buffer
	b.WriteString("{\n")
	fields := []string{kv("threshold", f.Threshold)}
	if f.TitleWeight != 0 {
		fields = append(fields, kv("title_weight", f.TitleWeight))
	}
	if f.FieldWeights != nil {
		fields = append(fields, kv("field_weights", f.FieldWeights))
	}
	if len(f.NegationCues) > 0 {
		fields = append(fields, kv("negation_cues", f.NegationCues))
	}
	fields = append(fields, kv("max_topics", f.MaxTopics), kv("relative_threshold", f.RelativeThreshold), kv("fallback", f.Fallback))
	for _, field := range fields {
		b.WriteString("  " + field + ",\n")
	}
	b.WriteString(`  "topics": [` + "\n")
	for i, tf := range f.Topics {
		b.WriteString("    {\n")
		lines := []string{kv("id", tf.ID), kv("name", tf.Name), kv("description", tf.Description), kv("group", tf.Group)}
		if tf.Threshold != 0 {
			lines = append(lines, kv("threshold", tf.Threshold))
		}
		if len(tf.NotAbout) > 0 {
			lines = append(lines, kv("not_about", tf.NotAbout))
		}
		var rules strings.Builder
		rules.WriteString(`"rules": [` + "\n")
		for j, r := range tf.Rules {
			rules.WriteString("        " + compact(r) + comma(j, len(tf.Rules)) + "\n")
		}
		rules.WriteString("      ]")
		lines = append(lines, rules.String())
		for j, line := range lines {
			b.WriteString("      " + line + comma(j, len(lines)) + "\n")
		}
		b.WriteString("    }" + comma(i, len(f.Topics)) + "\n")
	}
	b.WriteString("  ]")
	if m := f.Model; m != nil {
		b.WriteString(",\n  \"model\": {\n")
		for _, field := range []string{kv("trained_on", m.TrainedOn), kv("l2", m.L2), kv("topics", m.Topics), kv("bias", m.Bias),
			kv("thresholds", m.Thresholds), kv("stopwords", m.Stopwords)} {
			b.WriteString("    " + field + ",\n")
		}
		b.WriteString(`    "weights": {` + "\n")
		names := slices.Sorted(maps.Keys(m.Weights))
		for j, name := range names {
			b.WriteString("      " + kv(name, m.Weights[name]) + comma(j, len(names)) + "\n")
		}
		b.WriteString("    }\n  }")
	}
	b.WriteString("\n}\n")
	return b.Bytes()
}

func comma(i, n int) string {
	if i < n-1 {
		return ","
	}
	return ""
}

func kv(key string, v any) string {
	return compact(key) + ": " + compact(v)
}

// compact is v as one line of JSON with a space after each colon and comma
// outside strings, as a person would write it; HTML characters unescaped.
func compact(v any) string {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		// Only taxonomy values reach here: strings, numbers, slices and
		// structs of them, which always encode.
		panic(err)
	}
	raw := bytes.TrimSpace(buf.Bytes())
	var out strings.Builder
	inString, escaped := false, false
	for _, c := range raw {
		out.WriteByte(c)
		switch {
		case escaped:
			escaped = false
		case c == '\\' && inString:
			escaped = true
		case c == '"':
			inString = !inString
		case (c == ':' || c == ',') && !inString:
			out.WriteByte(' ')
		}
	}
	return out.String()
}
