// Package infra holds the deployment's data files: the default feed registry
// and topic taxonomy, embedded so that a Lambda binary carries them.
package infra

import _ "embed"

// Feeds is the default feed registry (feeds.json).
//
//go:embed feeds.json
var Feeds []byte

// Topics is the default topic taxonomy with its tagging rules (topics.json).
//
//go:embed topics.json
var Topics []byte
