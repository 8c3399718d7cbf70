// Package config owns Radiogram's settings: read once from the environment,
// validated, with defaults that are safe in production.
package config

import (
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"time"
)

// MaxMailItems bounds RADIOGRAM_MAIL_MAX_ITEMS: 50 items keep a mail's
// HTML well under 90 KB (internal/digestmail's TestCapAndSize).
const MaxMailItems = 50

// Config is every setting a Radiogram process reads.
type Config struct {
	Region string
	// AWSEndpoint points every AWS client at one endpoint (moto locally);
	// empty in the cloud.
	AWSEndpoint string

	FeedsTable        string
	ItemsTable        string
	SubscribersTable  string
	SuppressionsTable string
	RateLimitsTable   string
	SendsTable        string
	SendQueueURL      string
	SendDLQURL        string
	// PlanQueueURL carries the shards of a run to the planner function.
	PlanQueueURL string
	// IngestQueueURL is the queue of ingest runs an admin asked for,
	// which the ingest function carries out.
	IngestQueueURL string
	AdminTable     string

	// SendsRetention is how long a send ledger record is kept: the sends
	// table's TTL deletes it after.
	SendsRetention time.Duration

	// FeedsFile and TopicsFile replace the embedded defaults when set.
	FeedsFile  string
	TopicsFile string

	FetchTimeout     time.Duration
	MaxBodyBytes     int64
	FetchConcurrency int
	UserAgent        string
	// AllowLoopback lets the fetcher reach 127.0.0.0/8 for local runs and
	// tests; every other private range stays refused.
	AllowLoopback bool
	// MaxItemsPerFeed bounds the items one ingest run stores from one feed,
	// newest published first.
	MaxItemsPerFeed int

	// AdminToken is set locally; in the stack AdminTokenSecretARN names the
	// Secrets Manager secret that holds it.
	AdminToken          string
	AdminTokenSecretARN string

	// SigningKeys is the link-signing keyring spec (tokens.ParseKeyring)
	// locally; in the stack SigningKeysSecretARN names the secret.
	SigningKeys          string
	SigningKeysSecretARN string
	// AddressPepper keys the HMAC that stands for an address in the
	// suppression and rate-limit records, locally; in the stack
	// AddressPepperSecretARN names the secret that holds it.
	AddressPepper          string
	AddressPepperSecretARN string
	// BaseURL is the public address of the API that links point at.
	BaseURL string

	MailFrom         string
	MailReplyTo      string
	PostalAddress    string
	ConfigurationSet string
	// ListID is the identifier of every mail's List-Id header, e.g.
	// "news.example.org"; "" makes "radiogram.list-id.<MailFrom's domain>".
	ListID string
	// UnsubscribeMailto is the inbound unsubscribe address, offered as
	// List-Unsubscribe's mailto; "" offers the https one-click link only.
	// The stack sets it only together with the SES receipt rule that hands
	// mail sent to it to the inbound function.
	UnsubscribeMailto string
	// SendRate caps the account-wide SES rate the senders share, in mails
	// per second; 0 is no cap: the account's rate, read from SES. A cap
	// lowers that rate, never raises it.
	SendRate int
	// SenderConcurrency is the most sender functions that run at once (the
	// SQS event source's maximum concurrency): each paces itself at its
	// share of the rate.
	SenderConcurrency int
	// FeedbackTopicARN is the only SNS topic whose feedback is accepted.
	FeedbackTopicARN string
	// AdminEmails are the addresses admins may test-send previews to.
	AdminEmails []string

	LogLevel slog.Level
	// MailMaxItems is the most items one digest or alert shows; the rest
	// are counted, with a link to the archive. Bounded so that no mail's
	// HTML passes 90 KB, where Gmail clips it.
	MailMaxItems int
	// MetricsNamespace is the CloudWatch namespace of the metrics every
	// function writes (package metrics); the stack names it per stack.
	MetricsNamespace string

	set map[string]bool // variables that had a value, for Check
}

// MinAdminTokenLen is the shortest admin token accepted, from the
// environment or the secret: the token is all that guards the admin API and
// console. The stack generates one of 40 characters.
const MinAdminTokenLen = 32

// FromEnv reads the configuration from an environment: os.Getenv in every
// process, the environment the stack gives a function in tests. It is the
// only way a Config is made, so what the template sets is what runs.
func FromEnv(getenv func(string) string) (Config, error) {
	p := parser{getenv: getenv, set: map[string]bool{}}
	c := Config{
		Region:                 p.str("AWS_REGION", "us-east-1"),
		AWSEndpoint:            p.str("RADIOGRAM_AWS_ENDPOINT", ""),
		FeedsTable:             p.str("RADIOGRAM_FEEDS_TABLE", ""),
		ItemsTable:             p.str("RADIOGRAM_ITEMS_TABLE", ""),
		SubscribersTable:       p.str("RADIOGRAM_SUBSCRIBERS_TABLE", ""),
		SuppressionsTable:      p.str("RADIOGRAM_SUPPRESSIONS_TABLE", ""),
		RateLimitsTable:        p.str("RADIOGRAM_RATELIMITS_TABLE", ""),
		SendsTable:             p.str("RADIOGRAM_SENDS_TABLE", ""),
		SendsRetention:         time.Duration(p.integer("RADIOGRAM_SENDS_RETENTION_DAYS", 400, 1, 36500)) * 24 * time.Hour,
		AdminTable:             p.str("RADIOGRAM_ADMIN_TABLE", ""),
		SendQueueURL:           p.str("RADIOGRAM_SEND_QUEUE_URL", ""),
		SendDLQURL:             p.str("RADIOGRAM_SEND_DLQ_URL", ""),
		PlanQueueURL:           p.str("RADIOGRAM_PLAN_QUEUE_URL", ""),
		IngestQueueURL:         p.str("RADIOGRAM_INGEST_QUEUE_URL", ""),
		FeedsFile:              p.str("RADIOGRAM_FEEDS", ""),
		TopicsFile:             p.str("RADIOGRAM_TOPICS", ""),
		FetchTimeout:           p.duration("RADIOGRAM_FETCH_TIMEOUT", 10*time.Second),
		MaxBodyBytes:           int64(p.integer("RADIOGRAM_MAX_BODY_BYTES", 5<<20, 1024, 1<<30)),
		FetchConcurrency:       p.integer("RADIOGRAM_FETCH_CONCURRENCY", 8, 1, 64),
		UserAgent:              p.str("RADIOGRAM_USER_AGENT", ""),
		AllowLoopback:          p.boolean("RADIOGRAM_ALLOW_LOOPBACK"),
		MaxItemsPerFeed:        p.integer("RADIOGRAM_MAX_ITEMS_PER_FEED", 200, 1, 10000),
		AdminToken:             p.str("RADIOGRAM_ADMIN_TOKEN", ""),
		AdminTokenSecretARN:    p.str("RADIOGRAM_ADMIN_TOKEN_SECRET_ARN", ""),
		SigningKeys:            p.str("RADIOGRAM_SIGNING_KEYS", ""),
		SigningKeysSecretARN:   p.str("RADIOGRAM_SIGNING_KEYS_SECRET_ARN", ""),
		AddressPepper:          p.str("RADIOGRAM_ADDRESS_PEPPER", ""),
		AddressPepperSecretARN: p.str("RADIOGRAM_ADDRESS_PEPPER_SECRET_ARN", ""),
		BaseURL:                strings.TrimSuffix(p.str("RADIOGRAM_BASE_URL", ""), "/"),
		MailFrom:               p.str("RADIOGRAM_MAIL_FROM", "Radiogram <news@example.org>"),
		MailReplyTo:            p.str("RADIOGRAM_MAIL_REPLY_TO", ""),
		PostalAddress:          p.str("RADIOGRAM_POSTAL_ADDRESS", ""),
		ConfigurationSet:       p.str("RADIOGRAM_SES_CONFIGURATION_SET", ""),
		ListID:                 p.str("RADIOGRAM_LIST_ID", ""),
		UnsubscribeMailto:      p.str("RADIOGRAM_UNSUBSCRIBE_MAILTO", ""),
		SendRate:               p.integer("RADIOGRAM_SEND_RATE", 0, 0, 100000),
		SenderConcurrency:      p.integer("RADIOGRAM_SENDER_CONCURRENCY", 1, 1, 1000),
		FeedbackTopicARN:       p.str("RADIOGRAM_FEEDBACK_TOPIC_ARN", ""),
		AdminEmails:            p.list("RADIOGRAM_ADMIN_EMAILS"),
		LogLevel:               p.level("RADIOGRAM_LOG_LEVEL"),
		MetricsNamespace:       p.str("RADIOGRAM_METRICS_NAMESPACE", ""),
		MailMaxItems:           p.integer("RADIOGRAM_MAIL_MAX_ITEMS", 25, 1, MaxMailItems),
	}
	if p.err == nil && c.AdminToken != "" && len(c.AdminToken) < MinAdminTokenLen {
		// The token is a password: the error names its length, never it.
		p.err = fmt.Errorf("RADIOGRAM_ADMIN_TOKEN is %d characters: want at least %d (the stack generates %d)", len(c.AdminToken), MinAdminTokenLen, 40)
	}
	if p.err != nil {
		return Config{}, p.err
	}
	c.set = p.set
	return c, nil
}

// Check reports every setting role cannot run without that is not set, so
// that a function missing one fails at start-up with all their names, not
// at its first request.
func (c Config) Check(roles ...Role) error {
	var missing []string
	for _, role := range roles {
		needs, ok := roleNeeds[role]
		if !ok {
			return fmt.Errorf("unknown role %q", role)
		}
		for _, need := range needs.Required {
			if !slices.ContainsFunc(strings.Split(need, "|"), func(name string) bool { return c.set[name] }) {
				missing = append(missing, strings.ReplaceAll(need, "|", " or "))
			}
		}
	}
	if len(missing) > 0 {
		slices.Sort(missing)
		return fmt.Errorf("%s: must be set", strings.Join(slices.Compact(missing), ", "))
	}
	return nil
}

// parser collects the first error so FromEnv reads like a list of settings.
type parser struct {
	getenv func(string) string
	set    map[string]bool // the variables that had a value
	err    error
}

func (p *parser) fail(name, value, want string) {
	if p.err == nil {
		p.err = fmt.Errorf("%s=%q: want %s", name, value, want)
	}
}

func (p *parser) str(name, def string) string {
	if v := strings.TrimSpace(p.getenv(name)); v != "" {
		p.set[name] = true
		return v
	}
	return def
}

// list reads a comma-separated list, lower-cased and trimmed.
func (p *parser) list(name string) []string {
	var out []string
	for v := range strings.SplitSeq(p.str(name, ""), ",") {
		if v = strings.ToLower(strings.TrimSpace(v)); v != "" {
			out = append(out, v)
		}
	}
	return out
}

func (p *parser) duration(name string, def time.Duration) time.Duration {
	v := p.str(name, "")
	if v == "" {
		return def
	}
	d, err := time.ParseDuration(v)
	if err != nil || d <= 0 {
		p.fail(name, v, "a positive duration such as 10s")
		return def
	}
	return d
}

func (p *parser) integer(name string, def, lo, hi int) int {
	v := p.str(name, "")
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < lo || n > hi {
		p.fail(name, v, fmt.Sprintf("a whole number from %d to %d", lo, hi))
		return def
	}
	return n
}

func (p *parser) boolean(name string) bool {
	v := p.str(name, "")
	if v == "" {
		return false
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		p.fail(name, v, "1, 0, true or false")
	}
	return b
}

func (p *parser) level(name string) slog.Level {
	v := p.str(name, "INFO")
	var l slog.Level
	if err := l.UnmarshalText([]byte(v)); err != nil {
		p.fail(name, v, "DEBUG, INFO, WARN or ERROR")
	}
	return l
}
