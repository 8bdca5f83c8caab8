// Package usage counts the tokens each person and project spends on the AI
// and enforces per-person monthly quotas, so a shared hub's bill has names
// on it and one person's runaway loop cannot use up everyone's budget.
package usage

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/rubberduckhub/rubberduck/hub/ai/provider"
	"github.com/rubberduckhub/rubberduck/hub/store"
)

// Price is what a model costs, in US dollars per million tokens. Local
// models cost nothing and have no entry.
type Price struct {
	InputPerMTok  float64 `json:"inputPerMTok"`
	OutputPerMTok float64 `json:"outputPerMTok"`
}

// DefaultPrices are list prices of well-known hosted models (USD per million
// tokens, as published in 2025), used when the hub configures none. They
// are estimates for a usage page, not an invoice; prefixes match versions.
var DefaultPrices = map[string]Price{
	"gpt-4o":            {InputPerMTok: 2.5, OutputPerMTok: 10},
	"gpt-4o-mini":       {InputPerMTok: 0.15, OutputPerMTok: 0.6},
	"gpt-4.1":           {InputPerMTok: 2, OutputPerMTok: 8},
	"gpt-4.1-mini":      {InputPerMTok: 0.4, OutputPerMTok: 1.6},
	"gpt-4.1-nano":      {InputPerMTok: 0.1, OutputPerMTok: 0.4},
	"claude-opus-4":     {InputPerMTok: 15, OutputPerMTok: 75},
	"claude-sonnet-4":   {InputPerMTok: 3, OutputPerMTok: 15},
	"claude-haiku-4":    {InputPerMTok: 1, OutputPerMTok: 5},
	"claude-3-5-haiku":  {InputPerMTok: 0.8, OutputPerMTok: 4},
	"claude-3-7-sonnet": {InputPerMTok: 3, OutputPerMTok: 15},
}

// Quota limits one person's tokens (input plus output) per calendar month
// (UTC), across projects. Zero means unlimited.
type Quota struct {
	TokensPerMonth int64 `json:"tokensPerMonth"`
}

// Totals is the usage of one person or project in one month.
type Totals struct {
	Person       string  `json:"person,omitempty"`
	Requests     int64   `json:"requests"`
	InputTokens  int64   `json:"inputTokens"`
	OutputTokens int64   `json:"outputTokens"`
	CostUSD      float64 `json:"costUSD"`
}

// Tokens is input plus output.
func (t Totals) Tokens() int64 { return t.InputTokens + t.OutputTokens }

// Tracker records usage in the store.
type Tracker struct {
	st     store.Store
	prices map[string]Price
	quota  Quota
	// Overrides gives some people another quota (admins, a CI bot).
	overrides map[string]Quota
	now       func() time.Time
	mu        sync.Mutex // read-modify-write of the counters
}

// NewTracker returns a tracker. prices is keyed by model name or prefix.
func NewTracker(st store.Store, prices map[string]Price, quota Quota, overrides map[string]Quota) *Tracker {
	return &Tracker{st: st, prices: prices, quota: quota, overrides: overrides, now: time.Now}
}

// SetClock replaces the clock, for tests that cross a month.
func (t *Tracker) SetClock(now func() time.Time) { t.now = now }

func (t *Tracker) month() string { return t.now().UTC().Format("2006-01") }

func personKey(month, person string) []byte {
	return []byte("ai/usage/person/" + month + "/" + url.PathEscape(person))
}

func projectKey(month, project, person string) []byte {
	return []byte("ai/usage/project/" + month + "/" + url.PathEscape(project) + "/" + url.PathEscape(person))
}

// Check returns a *provider.Error of KindQuota when person has used up the
// month's quota, before any provider is called.
func (t *Tracker) Check(ctx context.Context, person string) error {
	q := t.quota
	if o, ok := t.overrides[person]; ok {
		q = o
	}
	if q.TokensPerMonth <= 0 {
		return nil
	}
	tot, err := t.load(ctx, personKey(t.month(), person))
	if err != nil {
		return err
	}
	if tot.Tokens() >= q.TokensPerMonth {
		return &provider.Error{Kind: provider.KindQuota, Provider: "hub",
			Message: fmt.Sprintf("You have used your AI quota for this month (%d of %d tokens). Ask a hub admin to raise it.", tot.Tokens(), q.TokensPerMonth)}
	}
	return nil
}

// Cost estimates what u cost on model.
func (t *Tracker) Cost(model string, u provider.Usage) float64 {
	p, ok := t.prices[model]
	if !ok {
		best := -1
		for name, pr := range t.prices {
			if strings.HasPrefix(model, name) && len(name) > best {
				best, p, ok = len(name), pr, true
			}
		}
	}
	if !ok {
		return 0
	}
	return float64(u.InputTokens)*p.InputPerMTok/1e6 + float64(u.OutputTokens)*p.OutputPerMTok/1e6
}

// Record adds one request's usage to the person's and the project's totals.
func (t *Tracker) Record(ctx context.Context, project, person, model string, u provider.Usage) error {
	cost := t.Cost(model, u)
	month := t.month()
	t.mu.Lock()
	defer t.mu.Unlock()
	keys := [][]byte{personKey(month, person), projectKey(month, project, person)}
	tots := make([]Totals, len(keys))
	for i, k := range keys {
		tot, err := t.load(ctx, k)
		if err != nil {
			return err
		}
		tot.Person = person
		tot.Requests++
		tot.InputTokens += int64(u.InputTokens)
		tot.OutputTokens += int64(u.OutputTokens)
		tot.CostUSD += cost
		tots[i] = tot
	}
	return t.st.Batch(ctx, func(b store.Batch) error {
		for i, k := range keys {
			v, err := json.Marshal(tots[i])
			if err != nil {
				return err
			}
			if err := b.Put(k, v); err != nil {
				return err
			}
		}
		return nil
	})
}

// Person returns a person's totals for a month ("2006-01"; empty: this month).
func (t *Tracker) Person(ctx context.Context, person, month string) (Totals, error) {
	if month == "" {
		month = t.month()
	}
	tot, err := t.load(ctx, personKey(month, person))
	tot.Person = person
	return tot, err
}

// Project returns every person's totals in a project for a month, and their sum.
func (t *Tracker) Project(ctx context.Context, project, month string) ([]Totals, Totals, error) {
	if month == "" {
		month = t.month()
	}
	var people []Totals
	var sum Totals
	prefix := "ai/usage/project/" + month + "/" + url.PathEscape(project) + "/"
	err := t.st.Scan(ctx, []byte(prefix), func(_, v []byte) (bool, error) {
		var tot Totals
		if err := json.Unmarshal(v, &tot); err != nil {
			return false, fmt.Errorf("decode usage: %w", err)
		}
		people = append(people, tot)
		sum.Requests += tot.Requests
		sum.InputTokens += tot.InputTokens
		sum.OutputTokens += tot.OutputTokens
		sum.CostUSD += tot.CostUSD
		return true, nil
	})
	return people, sum, err
}

func (t *Tracker) load(ctx context.Context, key []byte) (Totals, error) {
	var tot Totals
	b, err := t.st.Get(ctx, key)
	if errors.Is(err, store.ErrNotFound) {
		return tot, nil
	}
	if err != nil {
		return tot, fmt.Errorf("load usage: %w", err)
	}
	if err := json.Unmarshal(b, &tot); err != nil {
		return tot, fmt.Errorf("decode usage: %w", err)
	}
	return tot, nil
}
