package metrics

import (
	"bytes"
	"encoding/json"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestEmitWritesEMF(t *testing.T) {
	var buf bytes.Buffer
	e := New(&buf, "Radiogram/test")
	e.now = func() time.Time { return time.UnixMilli(1700000000123) }
	if err := e.With(map[string]string{"Reason": "suppressed"}).Emit(Metric{Name: "MailsSkipped", Unit: Count, Value: 3}); err != nil {
		t.Fatal(err)
	}
	if err := e.Emit(Metric{Name: "FeedsOK", Unit: Count, Value: 2}, Metric{Name: "PlanningDuration", Unit: Milliseconds, Value: 1.5}); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != 2 {
		t.Fatalf("got %d lines, want 2:\n%s", len(lines), buf.String())
	}
	tests := []struct {
		line       string
		wantDims   []string
		wantValues map[string]float64
		wantUnits  map[string]Unit
		wantFields map[string]string
	}{
		{lines[0], []string{"Reason"}, map[string]float64{"MailsSkipped": 3}, map[string]Unit{"MailsSkipped": Count}, map[string]string{"Reason": "suppressed"}},
		{lines[1], []string{}, map[string]float64{"FeedsOK": 2, "PlanningDuration": 1.5}, map[string]Unit{"FeedsOK": Count, "PlanningDuration": Milliseconds}, nil},
	}
	for _, tt := range tests {
		var doc map[string]json.RawMessage
		if err := json.Unmarshal([]byte(tt.line), &doc); err != nil {
			t.Fatalf("not JSON: %v: %s", err, tt.line)
		}
		var meta emfMeta
		if err := json.Unmarshal(doc["_aws"], &meta); err != nil {
			t.Fatal(err)
		}
		if meta.Timestamp != 1700000000123 || len(meta.CloudWatchMetrics) != 1 {
			t.Fatalf("meta = %+v", meta)
		}
		d := meta.CloudWatchMetrics[0]
		if d.Namespace != "Radiogram/test" || len(d.Dimensions) != 1 || strings.Join(d.Dimensions[0], ",") != strings.Join(tt.wantDims, ",") {
			t.Errorf("directive = %+v", d)
		}
		for _, m := range d.Metrics {
			if tt.wantUnits[m.Name] != m.Unit {
				t.Errorf("%s unit %q, want %q", m.Name, m.Unit, tt.wantUnits[m.Name])
			}
			var v float64
			if err := json.Unmarshal(doc[m.Name], &v); err != nil || v != tt.wantValues[m.Name] {
				t.Errorf("%s = %s, want %v", m.Name, doc[m.Name], tt.wantValues[m.Name])
			}
		}
		if len(d.Metrics) != len(tt.wantValues) {
			t.Errorf("metrics %+v, want %v", d.Metrics, tt.wantValues)
		}
		for k, v := range tt.wantFields {
			if string(doc[k]) != `"`+v+`"` {
				t.Errorf("%s = %s, want %q", k, doc[k], v)
			}
		}
	}
}

func TestEmitRefusesAClash(t *testing.T) {
	var buf bytes.Buffer
	e := New(&buf, "")
	if err := e.With(map[string]string{"Reason": "x"}).Emit(Metric{Name: "Reason", Unit: Count, Value: 1}); err == nil {
		t.Error("a metric named like a dimension was written")
	}
	if err := e.Emit(Metric{Name: "A", Value: 1}, Metric{Name: "A", Value: 2}); err == nil {
		t.Error("two metrics of one name were written")
	}
	if buf.Len() != 0 {
		t.Errorf("wrote %q", buf.String())
	}
}

func TestNilEmitterRecordsNothing(t *testing.T) {
	var e *Emitter
	if err := e.With(map[string]string{"A": "b"}).Emit(Metric{Name: "X", Unit: Count, Value: 1}); err != nil {
		t.Fatal(err)
	}
}

func TestConcurrentEmitsKeepLinesWhole(t *testing.T) {
	var buf bytes.Buffer
	e := New(&buf, "")
	var wg sync.WaitGroup
	for i := range 50 {
		wg.Go(func() {
			_ = e.With(map[string]string{"N": string(rune('a' + i%26))}).Emit(Metric{Name: "X", Unit: Count, Value: float64(i)})
		})
	}
	wg.Wait()
	for _, line := range strings.Split(strings.TrimSpace(buf.String()), "\n") {
		if !json.Valid([]byte(line)) {
			t.Fatalf("broken line %q", line)
		}
	}
}
