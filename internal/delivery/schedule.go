package delivery

import (
	"context"
	"fmt"
	"time"

	"github.com/radiogram/radiogram/internal/digest"
)

// PlanState remembers the last due slot the schedule planned.
type PlanState interface {
	LastPlannedSlot(ctx context.Context) (string, error)
	SetLastPlannedSlot(ctx context.Context, slot string) error
}

// maxCatchUp bounds how many missed hours one scheduled run plans.
const maxCatchUp = 48

// RunSchedule plans every due slot since the last planned one, up to now:
// an hour the schedule missed (an outage, a deploy) is planned late rather
// than never. Each slot's period ends on its hour, so planning a slot twice
// keys the same ledger entries and mails nobody twice.
func (p *Planner) RunSchedule(ctx context.Context, state PlanState, now time.Time) ([]Report, error) {
	last, err := state.LastPlannedSlot(ctx)
	if err != nil {
		return nil, fmt.Errorf("read planner state: %w", err)
	}
	// The first run ever plans the current hour; later ones every hour
	// after the last planned, at most maxCatchUp of them.
	from := now.UTC().Truncate(time.Hour).Add(-time.Hour)
	if t, err := digest.SlotStart(last); err == nil {
		from = t
	}
	var reports []Report
	for _, slot := range digest.SlotsBetween(from, now, maxCatchUp) {
		until, err := digest.SlotStart(slot)
		if err != nil {
			return reports, fmt.Errorf("slot %q: %w", slot, err)
		}
		rep, err := p.Plan(ctx, Request{RunID: "schedule-" + slot, Target: Target{Kind: TargetDue, Slot: slot}, Until: until, StartedBy: "schedule"})
		if err != nil {
			return reports, fmt.Errorf("plan slot %s: %w", slot, err)
		}
		reports = append(reports, rep)
		if err := state.SetLastPlannedSlot(ctx, slot); err != nil {
			return reports, fmt.Errorf("save planner state: %w", err)
		}
	}
	return reports, nil
}
