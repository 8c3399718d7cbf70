package items

import "strings"

// Reason words why an item has this topic, for the admins who check the
// tagger: "matched: deep learning (title), algorithm (summary)", "from the
// feed", "fallback" or "set by an admin". A topic stored before reasons
// were kept has none: "".
func (t TopicScore) Reason() string {
	switch t.Source {
	case SourceRules:
		if len(t.Matched) == 0 {
			return "matched the taxonomy's rules"
		}
		parts := make([]string, len(t.Matched))
		for i, m := range t.Matched {
			parts[i] = m.Term + " (" + m.Field + ")"
		}
		return "matched: " + strings.Join(parts, ", ")
	case SourceFeed:
		return "from the feed"
	case SourceFallback:
		return "fallback"
	case SourceAdmin:
		return "set by an admin"
	}
	return ""
}
