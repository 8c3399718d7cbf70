package topics

// MaxTopics is the most topics one item gets (the taxonomy's max_topics):
// from the tagger, and from an admin correcting it.
func (t *Taxonomy) MaxTopics() int { return t.maxTopics }
