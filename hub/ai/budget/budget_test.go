package budget_test

import (
	"strings"
	"testing"

	"github.com/rubberduckhub/rubberduck/hub/ai/budget"
)

func TestPackIncludesByPriorityAndReportsWhatDidNotFit(t *testing.T) {
	big := strings.Repeat("line of code\n", 200) // ~870 tokens
	items := []budget.Item{
		{Kind: budget.KindRepoMap, Name: "repo", Text: big, Priority: 50},
		{Kind: budget.KindQuestion, Name: "question", Text: "why?", Required: true},
		{Kind: budget.KindSelection, Name: "selection", Text: "x := 1\n", Priority: 1},
		{Kind: budget.KindFile, Name: "main.go", Text: big, Priority: 10, Truncatable: true},
	}
	got, rep := budget.Pack(400, items)
	if len(got) != 3 || got[0].Kind != budget.KindQuestion || got[1].Kind != budget.KindSelection {
		t.Fatalf("included %+v", rep.Included)
	}
	if !rep.Included[2].Truncated || !strings.HasSuffix(got[2].Text, "\n") {
		t.Errorf("file not truncated on a line boundary: %+v", rep.Included[2])
	}
	if len(rep.Omitted) != 1 || rep.Omitted[0].Kind != budget.KindRepoMap || rep.Omitted[0].Reason == "" {
		t.Errorf("omitted = %+v", rep.Omitted)
	}
	if rep.Used > rep.Budget {
		t.Errorf("used %d of %d", rep.Used, rep.Budget)
	}
	if !strings.Contains(rep.Summary(), "left out: repoMap repo") {
		t.Errorf("summary = %q", rep.Summary())
	}
}

func TestEstimateIsConservative(t *testing.T) {
	// A real tokenizer gives about 4 bytes per token on English text.
	s := strings.Repeat("The quick brown fox jumps over the lazy dog. ", 100)
	if budget.Estimate(s) < len(s)/4 {
		t.Errorf("estimate %d is below a real tokenizer's ~%d", budget.Estimate(s), len(s)/4)
	}
}

func TestWindow(t *testing.T) {
	cases := []struct {
		model string
		over  map[string]int
		want  int
	}{
		{"claude-sonnet-4-5", nil, 200000},
		{"gpt-4o-mini", nil, 128000},
		{"qwen2.5-coder:7b", map[string]int{"qwen2.5-coder": 4096}, 4096},
		{"mystery", nil, 8192},
	}
	for _, c := range cases {
		if got := budget.Window(c.model, c.over); got != c.want {
			t.Errorf("Window(%q) = %d, want %d", c.model, got, c.want)
		}
	}
}
