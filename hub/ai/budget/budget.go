// Package budget assembles what the model sees under an explicit token
// budget and says what was left out.
//
// Silent truncation is what hurts local models most (Ollama's 2k default
// context quietly cut prompts and cost Aider ~20 points), so every piece of
// context is an Item with a priority; Pack includes items in priority order,
// shortens the ones that may be shortened and reports every item that did not
// fit, with the reason, in a Report the answer carries.
//
// Token counts are estimates: one token per three bytes, rounded up, plus a
// small overhead per item. Real BPE tokenizers average about four bytes per
// token on English and three and a half on code, so the estimate errs on the
// side of leaving room; no single Go tokenizer covers OpenAI, Anthropic and
// the local models' vocabularies (ADR 0052).
package budget

import (
	"fmt"
	"sort"
	"strings"
)

// BytesPerToken is the conservative ratio Estimate uses.
const BytesPerToken = 3

// itemOverhead covers the header each item gets in the prompt.
const itemOverhead = 8

// Estimate returns a conservative token count for s.
func Estimate(s string) int {
	return (len(s) + BytesPerToken - 1) / BytesPerToken
}

// Kind names where a piece of context came from; clients show it.
type Kind string

// The kinds of context, in the order they usually matter.
const (
	KindInstructions Kind = "instructions"
	KindQuestion     Kind = "question"
	KindSelection    Kind = "selection"
	KindCursor       Kind = "cursor"
	KindMention      Kind = "mention"
	KindFile         Kind = "file"
	KindDiagnostics  Kind = "diagnostics"
	KindOpenDocument Kind = "openDocument"
	KindRepoMap      Kind = "repoMap"
	KindHistory      Kind = "history"
)

// Item is one piece of context.
type Item struct {
	Kind     Kind
	Name     string // a path, "selection", a message id...
	Text     string
	Priority int // lower goes in first
	// Truncatable items may be shortened to fit (keeping their start, or
	// their end with KeepEnd) instead of being dropped.
	Truncatable bool
	KeepEnd     bool
	// Required items are always included; the budget shrinks for the rest.
	Required bool
}

// Tokens is the item's estimated size in the prompt.
func (it Item) Tokens() int { return Estimate(it.Text) + itemOverhead }

// Entry reports one item in a Report.
type Entry struct {
	Kind      Kind   `json:"kind"`
	Name      string `json:"name"`
	Tokens    int    `json:"tokens"`
	Truncated bool   `json:"truncated,omitempty"`
	Reason    string `json:"reason,omitempty"`
}

// Report says what the model saw: it goes into the answer's metadata so no
// context is ever dropped silently.
type Report struct {
	Model    string  `json:"model,omitempty"`
	Window   int     `json:"window"`
	Budget   int     `json:"budget"`
	Used     int     `json:"used"`
	Included []Entry `json:"included"`
	Omitted  []Entry `json:"omitted,omitempty"`
}

// Summary is a one-line account for people ("8 items, 3.1k of 6k tokens; left
// out: repoMap").
func (r Report) Summary() string {
	s := fmt.Sprintf("%d items, %d of %d tokens", len(r.Included), r.Used, r.Budget)
	if len(r.Omitted) > 0 {
		var names []string
		for _, e := range r.Omitted {
			names = append(names, string(e.Kind)+" "+e.Name)
		}
		s += "; left out: " + strings.Join(names, ", ")
	}
	return s
}

// minUseful is the smallest truncated piece worth including.
const minUseful = 48

// Pack chooses items for a budget of tokens. Whole items go in first, in
// priority order, so a huge file cannot starve small important ones; the
// space left is then shared among the truncatable items that did not fit
// whole. It returns the included items (some shortened) in priority order and
// the report.
func Pack(budget int, items []Item) ([]Item, Report) {
	rep := Report{Budget: budget}
	sorted := append([]Item(nil), items...)
	sort.SliceStable(sorted, func(i, j int) bool {
		if sorted[i].Required != sorted[j].Required {
			return sorted[i].Required
		}
		return sorted[i].Priority < sorted[j].Priority
	})
	left := budget
	type chosen struct {
		order int
		item  Item
		entry Entry
	}
	var in []chosen
	var deferred []int
	for i, it := range sorted {
		n := it.Tokens()
		switch {
		case it.Required || n <= left:
			in = append(in, chosen{i, it, Entry{Kind: it.Kind, Name: it.Name, Tokens: n}})
			left -= n
		case it.Truncatable:
			deferred = append(deferred, i)
		default:
			rep.Omitted = append(rep.Omitted, Entry{Kind: it.Kind, Name: it.Name, Tokens: n,
				Reason: fmt.Sprintf("needs %d tokens, %d left", n, max(left, 0))})
		}
	}
	for k, i := range deferred {
		it := sorted[i]
		n := it.Tokens()
		share := left / (len(deferred) - k)
		if share < minUseful+itemOverhead {
			share = left
		}
		if share < minUseful+itemOverhead {
			rep.Omitted = append(rep.Omitted, Entry{Kind: it.Kind, Name: it.Name, Tokens: n,
				Reason: fmt.Sprintf("needs %d tokens, %d left", n, max(left, 0))})
			continue
		}
		keep := (share - itemOverhead) * BytesPerToken
		cut := it
		if it.KeepEnd {
			cut.Text = cutLines(it.Text[len(it.Text)-keep:], true)
		} else {
			cut.Text = cutLines(it.Text[:keep], false)
		}
		m := cut.Tokens()
		in = append(in, chosen{i, cut, Entry{Kind: it.Kind, Name: it.Name, Tokens: m, Truncated: true,
			Reason: fmt.Sprintf("shortened from %d tokens to fit", n)}})
		left -= m
	}
	sort.Slice(in, func(a, b int) bool { return in[a].order < in[b].order })
	out := make([]Item, len(in))
	for i, c := range in {
		out[i] = c.item
		rep.Included = append(rep.Included, c.entry)
	}
	rep.Used = budget - left
	return out, rep
}

// cutLines drops the partial line at the cut end so the model sees whole lines.
func cutLines(s string, keepEnd bool) string {
	if keepEnd {
		if i := strings.IndexByte(s, '\n'); i >= 0 && i < len(s)-1 {
			return s[i+1:]
		}
		return s
	}
	if i := strings.LastIndexByte(s, '\n'); i > 0 {
		return s[:i+1]
	}
	return s
}

// Window returns the context window of a model, in tokens, from overrides
// (exact names or name prefixes) or a table of well-known families; unknown
// models get a conservative 8192.
func Window(model string, overrides map[string]int) int {
	if n, ok := Override(model, overrides); ok {
		return n
	}
	m := strings.ToLower(model)
	for _, w := range knownWindows {
		if strings.Contains(m, w.prefix) {
			return w.tokens
		}
	}
	return 8192
}

// Override returns the configured window for model: an exact entry, else
// the longest matching prefix.
func Override(model string, overrides map[string]int) (int, bool) {
	if n, ok := overrides[model]; ok && n > 0 {
		return n, true
	}
	m := strings.ToLower(model)
	bestLen, best := -1, 0
	for p, n := range overrides {
		if n > 0 && strings.HasPrefix(m, strings.ToLower(p)) && len(p) > bestLen {
			bestLen, best = len(p), n
		}
	}
	return best, bestLen >= 0
}

var knownWindows = []struct {
	prefix string
	tokens int
}{
	{"claude", 200000},
	{"gpt-4.1", 1000000},
	{"gpt-5", 400000},
	{"gpt-4o", 128000},
	{"gpt-4-turbo", 128000},
	{"o1", 200000},
	{"o3", 200000},
	{"o4", 200000},
	{"gpt-3.5", 16385},
	{"qwen2.5-coder", 32768},
	{"qwen3", 32768},
	{"deepseek", 65536},
	{"codestral", 32768},
	{"llama3", 8192},
	{"llama-3", 8192},
}
