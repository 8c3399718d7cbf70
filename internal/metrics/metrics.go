// Package metrics owns Radiogram's CloudWatch metrics, written in the
// Embedded Metric Format (EMF): one JSON line per record on the function's
// output, which CloudWatch Logs turns into metrics without an API call, so
// recording a metric costs no request and cannot fail a run.
package metrics

import (
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"slices"
	"sync"
	"time"
)

// Unit is a CloudWatch metric unit.
type Unit string

// The units Radiogram's metrics use.
const (
	Count          Unit = "Count"
	Milliseconds   Unit = "Milliseconds"
	Percent        Unit = "Percent"
	CountPerSecond Unit = "Count/Second"
)

// Metric is one value.
type Metric struct {
	Name  string
	Unit  Unit
	Value float64
}

// DefaultNamespace is used when the configuration names none.
const DefaultNamespace = "Radiogram"

// Emitter writes EMF records. A nil *Emitter records nothing, so tests and
// callers without metrics need no stand-in. It is safe for concurrent use.
type Emitter struct {
	namespace  string
	dimensions map[string]string
	now        func() time.Time

	mu *sync.Mutex // shared with the emitters With derives
	w  io.Writer
}

// New returns an emitter writing to w (stdout in Lambda) under namespace.
func New(w io.Writer, namespace string) *Emitter {
	if namespace == "" {
		namespace = DefaultNamespace
	}
	return &Emitter{namespace: namespace, now: time.Now, mu: &sync.Mutex{}, w: w}
}

// With returns an emitter whose records carry these dimensions too (for
// example {"Reason": "suppressed"}).
func (e *Emitter) With(dimensions map[string]string) *Emitter {
	if e == nil {
		return nil
	}
	d := maps.Clone(e.dimensions)
	if d == nil {
		d = map[string]string{}
	}
	maps.Copy(d, dimensions)
	derived := *e
	derived.dimensions = d
	return &derived
}

// Emit writes one record holding every metric. An error writing it is
// returned for the caller to log; a metric is never worth failing work for.
func (e *Emitter) Emit(metrics ...Metric) error {
	if e == nil || len(metrics) == 0 {
		return nil
	}
	line, err := e.record(metrics)
	if err != nil {
		return err
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if _, err := e.w.Write(line); err != nil {
		return fmt.Errorf("write metrics: %w", err)
	}
	return nil
}

type emfMetric struct {
	Name string `json:"Name"`
	Unit Unit   `json:"Unit"`
}

type emfDirective struct {
	Namespace  string      `json:"Namespace"`
	Dimensions [][]string  `json:"Dimensions"`
	Metrics    []emfMetric `json:"Metrics"`
}

type emfMeta struct {
	Timestamp         int64          `json:"Timestamp"`
	CloudWatchMetrics []emfDirective `json:"CloudWatchMetrics"`
}

func (e *Emitter) record(metrics []Metric) ([]byte, error) {
	// One dimension set of every dimension; none is an empty set, which
	// CloudWatch accepts: the namespace alone names the metric.
	dims := slices.Sorted(maps.Keys(e.dimensions))
	if dims == nil {
		dims = []string{}
	}
	doc := map[string]any{}
	for k, v := range e.dimensions {
		doc[k] = v
	}
	directive := emfDirective{Namespace: e.namespace, Dimensions: [][]string{dims}}
	for _, m := range metrics {
		if _, taken := doc[m.Name]; taken || m.Name == "_aws" {
			return nil, fmt.Errorf("metric %q repeats a name in its record", m.Name)
		}
		doc[m.Name] = m.Value
		directive.Metrics = append(directive.Metrics, emfMetric{Name: m.Name, Unit: m.Unit})
	}
	doc["_aws"] = emfMeta{Timestamp: e.now().UnixMilli(), CloudWatchMetrics: []emfDirective{directive}}
	line, err := json.Marshal(doc)
	if err != nil {
		return nil, fmt.Errorf("encode metrics: %w", err)
	}
	return append(line, '\n'), nil
}
