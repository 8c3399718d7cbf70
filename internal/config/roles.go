package config

import (
	"slices"
	"strings"
)

// Role is the job a process does: one of the template's Lambda functions.
// `make run` and the integration tests do all of them in one process.
type Role string

// The roles, one per function in template.yaml.
const (
	Ingest   Role = "ingest"
	API      Role = "api"
	Planner  Role = "planner"
	Sender   Role = "sender"
	Feedback Role = "feedback"
	Inbound  Role = "inbound"
)

// Roles lists every role, in the template's order.
var Roles = []Role{Ingest, API, Planner, Sender, Feedback, Inbound}

// Needs is what one role reads from the environment. An entry "A|B" is
// satisfied by either variable (a value, or the secret that holds it).
type Needs struct {
	Required []string
	Optional []string
}

// Reads reports whether the role reads the variable at all.
func (n Needs) Reads(name string) bool {
	for _, entry := range slices.Concat(n.Required, n.Optional, common) {
		if slices.Contains(strings.Split(entry, "|"), name) {
			return true
		}
	}
	return false
}

// NeedsOf returns what role reads; the template's environment for each
// function is tested against it, so a variable set there and read by
// nobody, or required here and not set there, fails a test.
func NeedsOf(role Role) Needs { return roleNeeds[role] }

// common are read by every role and required by none.
var common = []string{
	"AWS_REGION", "RADIOGRAM_AWS_ENDPOINT", "RADIOGRAM_LOG_LEVEL", "RADIOGRAM_METRICS_NAMESPACE",
	// The taxonomy and the registry's society names serve every role.
	"RADIOGRAM_TOPICS", "RADIOGRAM_FEEDS",
}

var (
	// fetching is read by the role that runs ingests: Ingest. (The API
	// only queues them.)
	fetching = []string{
		"RADIOGRAM_FETCH_TIMEOUT", "RADIOGRAM_MAX_BODY_BYTES", "RADIOGRAM_FETCH_CONCURRENCY",
		"RADIOGRAM_USER_AGENT", "RADIOGRAM_ALLOW_LOOPBACK", "RADIOGRAM_MAX_ITEMS_PER_FEED",
	}
	mailing = []string{
		"RADIOGRAM_MAIL_FROM", "RADIOGRAM_MAIL_REPLY_TO", "RADIOGRAM_POSTAL_ADDRESS",
		"RADIOGRAM_UNSUBSCRIBE_MAILTO", "RADIOGRAM_SES_CONFIGURATION_SET", "RADIOGRAM_MAIL_MAX_ITEMS", "RADIOGRAM_LIST_ID",
	}
)

// addressPepper keys the hash of an address in suppression and rate-limit
// records: every role that reads or writes those needs it.
const addressPepper = "RADIOGRAM_ADDRESS_PEPPER|RADIOGRAM_ADDRESS_PEPPER_SECRET_ARN"

var roleNeeds = map[Role]Needs{
	// Ingest stores items, then queues the shards of instant alerts for a
	// run with news: the planner function plans them.
	Ingest: {
		Required: []string{
			"RADIOGRAM_FEEDS_TABLE", "RADIOGRAM_ITEMS_TABLE",
			"RADIOGRAM_PLAN_QUEUE_URL", "RADIOGRAM_ADMIN_TABLE", addressPepper,
		},
		Optional: fetching,
	},
	// The API serves subscribers and admins, plans sends, and queues the
	// ingest runs admins ask for (the ingest function runs them).
	API: {
		Required: []string{
			"RADIOGRAM_FEEDS_TABLE", "RADIOGRAM_ITEMS_TABLE", "RADIOGRAM_SUBSCRIBERS_TABLE",
			"RADIOGRAM_SUPPRESSIONS_TABLE", "RADIOGRAM_RATELIMITS_TABLE", "RADIOGRAM_SENDS_TABLE",
			"RADIOGRAM_ADMIN_TABLE", "RADIOGRAM_SEND_QUEUE_URL", "RADIOGRAM_PLAN_QUEUE_URL", "RADIOGRAM_INGEST_QUEUE_URL",
			"RADIOGRAM_ADMIN_TOKEN|RADIOGRAM_ADMIN_TOKEN_SECRET_ARN",
			"RADIOGRAM_SIGNING_KEYS|RADIOGRAM_SIGNING_KEYS_SECRET_ARN", addressPepper,
		},
		// Without RADIOGRAM_BASE_URL links use the domain the request came on.
		Optional: slices.Concat(mailing, []string{
			"RADIOGRAM_BASE_URL", "RADIOGRAM_ADMIN_EMAILS", "RADIOGRAM_SEND_DLQ_URL",
		}),
	},
	// The planner queues the shards of each due hour on the plan queue,
	// and plans the shards it receives from it.
	Planner: {
		Required: []string{
			"RADIOGRAM_SUBSCRIBERS_TABLE", "RADIOGRAM_ITEMS_TABLE", "RADIOGRAM_SUPPRESSIONS_TABLE",
			"RADIOGRAM_SENDS_TABLE", "RADIOGRAM_ADMIN_TABLE", "RADIOGRAM_SEND_QUEUE_URL",
			"RADIOGRAM_PLAN_QUEUE_URL", addressPepper,
		},
	},
	// The sender renders with society names (feeds table) and signed links,
	// and handles the sign-up, manage and data-link requests the API queued
	// (subscribers and suppressions tables, signed links, mail settings).
	// It keeps the sending pause of a used-up daily quota in the admin
	// table, and paces itself at its share of the account's SES rate: the
	// rate capped by RADIOGRAM_SEND_RATE, divided by
	// RADIOGRAM_SENDER_CONCURRENCY. With the send queue's URL it hides the
	// records it hands back until it wants them again.
	// It alone writes send records, so it alone sets their expiry.
	Sender: {
		Required: []string{
			"RADIOGRAM_FEEDS_TABLE", "RADIOGRAM_SUBSCRIBERS_TABLE", "RADIOGRAM_ITEMS_TABLE",
			"RADIOGRAM_SUPPRESSIONS_TABLE", "RADIOGRAM_SENDS_TABLE", "RADIOGRAM_ADMIN_TABLE", "RADIOGRAM_BASE_URL",
			"RADIOGRAM_SIGNING_KEYS|RADIOGRAM_SIGNING_KEYS_SECRET_ARN", addressPepper,
		},
		Optional: slices.Concat(mailing, []string{"RADIOGRAM_SEND_RATE", "RADIOGRAM_SENDER_CONCURRENCY", "RADIOGRAM_SEND_QUEUE_URL", "RADIOGRAM_SENDS_RETENTION_DAYS"}),
	},
	Feedback: {
		Required: []string{
			"RADIOGRAM_SUPPRESSIONS_TABLE", "RADIOGRAM_SENDS_TABLE", "RADIOGRAM_FEEDBACK_TOPIC_ARN", addressPepper,
		},
	},
	// Inbound handles the mails SES receives at the unsubscribe address:
	// it verifies the subject's unsubscribe token, reads the subscriber,
	// unsubscribes and suppresses them. RADIOGRAM_UNSUBSCRIBE_MAILTO is
	// the address mail must be sent to.
	Inbound: {
		Required: []string{
			"RADIOGRAM_SUBSCRIBERS_TABLE", "RADIOGRAM_SUPPRESSIONS_TABLE",
			"RADIOGRAM_SIGNING_KEYS|RADIOGRAM_SIGNING_KEYS_SECRET_ARN", addressPepper,
		},
		Optional: []string{"RADIOGRAM_UNSUBSCRIBE_MAILTO"},
	},
}

// FunctionID is the logical id of the role's function in template.yaml.
func (r Role) FunctionID() string {
	return strings.ToUpper(string(r[:1])) + string(r[1:]) + "Function"
}
