package usage_test

import (
	"context"
	"math"
	"testing"
	"time"

	"github.com/rubberduckhub/rubberduck/hub/ai/provider"
	"github.com/rubberduckhub/rubberduck/hub/ai/usage"
	"github.com/rubberduckhub/rubberduck/hub/store"
)

func TestRecordCostAndQuota(t *testing.T) {
	ctx := context.Background()
	tr := usage.NewTracker(store.NewMemory(),
		map[string]usage.Price{"gpt-4o": {InputPerMTok: 2.5, OutputPerMTok: 10}},
		usage.Quota{TokensPerMonth: 1000}, map[string]usage.Quota{"ci": {}})
	now := time.Date(2026, 11, 30, 23, 0, 0, 0, time.UTC)
	tr.SetClock(func() time.Time { return now })

	if err := tr.Record(ctx, "p1", "ann", "gpt-4o-mini", provider.Usage{InputTokens: 600, OutputTokens: 300}); err != nil {
		t.Fatal(err)
	}
	if err := tr.Check(ctx, "ann"); err != nil {
		t.Fatalf("under quota: %v", err)
	}
	_ = tr.Record(ctx, "p2", "ann", "llama3", provider.Usage{InputTokens: 100, OutputTokens: 10})
	err := tr.Check(ctx, "ann")
	if provider.KindOf(err) != provider.KindQuota || provider.UserMessage(err) == "" {
		t.Fatalf("over quota: %v", err)
	}
	_ = tr.Record(ctx, "p1", "ci", "llama3", provider.Usage{InputTokens: 5000})
	if err := tr.Check(ctx, "ci"); err != nil {
		t.Errorf("unlimited override: %v", err)
	}
	people, sum, err := tr.Project(ctx, "p1", "")
	if err != nil || len(people) != 2 || sum.Requests != 2 {
		t.Fatalf("project usage %+v %+v %v", people, sum, err)
	}
	want := 600*2.5/1e6 + 300*10/1e6
	if math.Abs(sum.CostUSD-want) > 1e-12 {
		t.Errorf("cost = %v, want %v", sum.CostUSD, want)
	}
	now = now.Add(2 * time.Hour) // December: a new month
	if err := tr.Check(ctx, "ann"); err != nil {
		t.Errorf("new month still over quota: %v", err)
	}
}
