package ai

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	lru "github.com/hashicorp/golang-lru/v2"

	"github.com/rubberduckhub/rubberduck/hub/ai/budget"
	"github.com/rubberduckhub/rubberduck/hub/ai/provider"
	"github.com/rubberduckhub/rubberduck/hub/store"
)

// Status is the state of a message.
type Status string

// Message states: an answer is streaming until it is done, cancelled by
// someone, or failed with an error whose text says why.
const (
	StatusStreaming Status = "streaming"
	StatusDone      Status = "done"
	StatusCancelled Status = "cancelled"
	StatusError     Status = "error"
)

// Role says who wrote a message.
type Role string

// Message roles. System messages record room events (/clear, /model).
const (
	RoleUser      Role = "user"
	RoleAssistant Role = "assistant"
	RoleSystem    Role = "system"
)

// Part is a step of an answer shown in the conversation: a tool call the
// model made, or a note (an edit that could not be located).
type Part struct {
	Type    string          `json:"type"` // "tool" or "note"
	ID      string          `json:"id,omitempty"`
	Name    string          `json:"name,omitempty"`
	Args    json.RawMessage `json:"args,omitempty"`
	Status  string          `json:"status,omitempty"` // running, done, error
	Summary string          `json:"summary,omitempty"`
}

// Feedback is one person's rating of an answer.
type Feedback struct {
	Rating  string    `json:"rating"` // "up", "down" or "" (withdrawn)
	Comment string    `json:"comment,omitempty"`
	At      time.Time `json:"at"`
}

// Message is one entry of a project's shared conversation.
type Message struct {
	ID          string              `json:"id"`
	Project     string              `json:"project"`
	Author      string              `json:"author"`
	Role        Role                `json:"role"`
	Text        string              `json:"text"`
	Status      Status              `json:"status"`
	Command     string              `json:"command,omitempty"`
	ReplyTo     string              `json:"replyTo,omitempty"`
	Regenerates string              `json:"regenerates,omitempty"`
	AskedBy     string              `json:"askedBy,omitempty"`
	Model       string              `json:"model,omitempty"`
	Error       string              `json:"error,omitempty"`
	ErrorKind   string              `json:"errorKind,omitempty"`
	Parts       []Part              `json:"parts,omitempty"`
	Context     *budget.Report      `json:"context,omitempty"`
	Usage       *provider.Usage     `json:"usage,omitempty"`
	Proposals   []string            `json:"proposals,omitempty"`
	Feedback    map[string]Feedback `json:"feedback,omitempty"`
	Created     time.Time           `json:"created"`
	Updated     time.Time           `json:"updated"`
}

// record is what the store keeps: the message and the editor state of the
// question, which Regenerate needs and the room does not.
type record struct {
	Message
	Editor *EditorContext `json:"editor,omitempty"`
}

var lastID atomic.Int64

// newID returns a message id that sorts by creation time, so the store's key
// order is the conversation's order.
func newID() string {
	for {
		now := time.Now().UnixNano()
		last := lastID.Load()
		if now <= last {
			now = last + 1
		}
		if lastID.CompareAndSwap(last, now) {
			return fmt.Sprintf("m%016x", now)
		}
	}
}

func chatPrefix(project string) string { return "ai/chat/" + url.PathEscape(project) + "/" }

func chatKey(project, id string) []byte { return []byte(chatPrefix(project) + id) }

func (e *Engine) save(ctx context.Context, r *record) error {
	b, err := json.Marshal(r)
	if err != nil {
		return fmt.Errorf("encode message: %w", err)
	}
	if err := e.st.Put(ctx, chatKey(r.Project, r.ID), b); err != nil {
		return fmt.Errorf("save message: %w", err)
	}
	e.turns.update(r)
	return nil
}

// ErrNotFound is returned for an unknown message.
var ErrNotFound = errors.New("ai: no such message")

func (e *Engine) load(ctx context.Context, project, id string) (*record, error) {
	b, err := e.st.Get(ctx, chatKey(project, id))
	if errors.Is(err, store.ErrNotFound) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("load message: %w", err)
	}
	var r record
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, fmt.Errorf("decode message: %w", err)
	}
	return &r, nil
}

// Get returns one message, with the text so far when it is streaming.
func (e *Engine) Get(ctx context.Context, project, id string) (Message, error) {
	r, err := e.load(ctx, project, id)
	if err != nil {
		return Message{}, err
	}
	if r.Status == StatusStreaming {
		if run := e.active(id); run != nil {
			r.Text = run.snapshot()
		}
	}
	return r.Message, nil
}

// HistoryQuery pages through a conversation, newest first.
type HistoryQuery struct {
	Before string `json:"before,omitempty"` // a message id; empty: the newest
	Limit  int    `json:"limit,omitempty"`  // default 50, at most 500
	Query  string `json:"query,omitempty"`  // case-insensitive text search
}

// HistoryPage is one page of history in chronological order. Next is the
// Before of the following (older) page, empty at the beginning.
type HistoryPage struct {
	Messages []Message `json:"messages"`
	Next     string    `json:"next,omitempty"`
}

// History returns a page of a project's conversation. Answers still
// streaming carry the text received so far, so someone who joins mid-answer
// sees it all.
func (e *Engine) History(ctx context.Context, project string, q HistoryQuery) (HistoryPage, error) {
	if q.Limit <= 0 {
		q.Limit = 50
	}
	q.Limit = min(q.Limit, 500)
	needle := strings.ToLower(strings.TrimSpace(q.Query))
	// The store scans forward; keep the last Limit+1 matches before Before.
	ring := make([]Message, 0, q.Limit+1)
	err := e.st.Scan(ctx, []byte(chatPrefix(project)), func(k, v []byte) (bool, error) {
		id := string(k[len(chatPrefix(project)):])
		if q.Before != "" && id >= q.Before {
			return false, nil
		}
		var r record
		if err := json.Unmarshal(v, &r); err != nil {
			return false, fmt.Errorf("decode message: %w", err)
		}
		if needle != "" && !strings.Contains(strings.ToLower(r.Text), needle) && !strings.Contains(strings.ToLower(r.Author), needle) {
			return true, nil
		}
		if len(ring) == q.Limit+1 {
			copy(ring, ring[1:])
			ring = ring[:q.Limit]
		}
		ring = append(ring, r.Message)
		return true, nil
	})
	if err != nil {
		return HistoryPage{}, err
	}
	page := HistoryPage{Messages: ring}
	if len(ring) > q.Limit {
		page.Messages = ring[1:]
		page.Next = page.Messages[0].ID
	}
	for i := range page.Messages {
		m := &page.Messages[i]
		if m.Status != StatusStreaming {
			continue
		}
		if r := e.active(m.ID); r != nil {
			m.Text = r.snapshot()
			continue
		}
		// Streaming in the store but not running: the hub stopped while
		// it was being written (a crash; Close ends answers properly).
		m.Status, m.ErrorKind = StatusError, "interrupted"
		m.Error = "This answer was interrupted when the hub stopped; regenerate it."
	}
	if page.Messages == nil {
		page.Messages = []Message{}
	}
	return page, nil
}

// maxTurns bounds how many earlier messages are considered for the model's
// history; older ones would not fit any budget anyway.
const maxTurns = 200

// turn is the part of a stored message the model's history needs; decoding
// only it keeps long conversations cheap.
type turn struct {
	ID      string `json:"id"`
	Author  string `json:"author"`
	Role    Role   `json:"role"`
	Text    string `json:"text"`
	Status  Status `json:"status"`
	Command string `json:"command"`
	ReplyTo string `json:"replyTo"`
}

var clearMarker = []byte(`"command":"clear"`)

// conversation returns the turns the model sees before a question: the
// latest messages since the last /clear, each question with its latest
// finished answer, people's own messages attributed to them.
func (e *Engine) conversation(ctx context.Context, project, beforeID string) ([]turn, error) {
	all, err := e.turns.get(project, func() ([]turn, error) { return e.loadTurns(ctx, project) })
	if err != nil {
		return nil, err
	}
	var msgs []turn
	for _, t := range all {
		if t.ID < beforeID {
			msgs = append(msgs, t)
		}
	}
	// Keep only the latest done answer per question.
	latest := map[string]string{}
	for _, m := range msgs {
		if m.Role == RoleAssistant && m.Status == StatusDone && m.ReplyTo != "" {
			latest[m.ReplyTo] = m.ID
		}
	}
	out := msgs[:0]
	for _, m := range msgs {
		switch {
		case m.Role == RoleSystem:
		case m.Role == RoleAssistant && (m.ReplyTo == "" || latest[m.ReplyTo] != m.ID):
		case isLocalCommand(m.Command):
		default:
			out = append(out, m)
		}
	}
	return out, nil
}

// loadTurns reads the last maxTurns messages since the last /clear.
func (e *Engine) loadTurns(ctx context.Context, project string) ([]turn, error) {
	prefix := chatPrefix(project)
	ring := make([][]byte, 0, maxTurns)
	err := e.st.Scan(ctx, []byte(prefix), func(_, v []byte) (bool, error) {
		if isClear(v) {
			ring = ring[:0]
			return true, nil
		}
		if len(ring) == maxTurns {
			copy(ring, ring[1:])
			ring = ring[:maxTurns-1]
		}
		ring = append(ring, bytes.Clone(v))
		return true, nil
	})
	if err != nil {
		return nil, err
	}
	msgs := make([]turn, 0, len(ring))
	for _, v := range ring {
		var t turn
		if err := json.Unmarshal(v, &t); err != nil {
			return nil, fmt.Errorf("decode message: %w", err)
		}
		msgs = append(msgs, t)
	}
	return msgs, nil
}

func isClear(v []byte) bool {
	return bytes.Contains(v, clearMarker) && bytes.Contains(v, []byte(`"role":"system"`))
}

// turnCache keeps the recent turns of the projects in use, so a question in
// a long conversation does not re-read it from the store. It is updated on
// every save; a multi-node hub will need to invalidate it on other nodes'
// writes.
type turnCache struct {
	mu       sync.Mutex
	projects *lru.Cache[string, []turn]
	// missed counts saves to projects not in the cache; a load that saw it
	// change may have missed a save and is not cached.
	missed uint64
}

func newTurnCache() *turnCache {
	c, _ := lru.New[string, []turn](256)
	return &turnCache{projects: c}
}

func (c *turnCache) get(project string, load func() ([]turn, error)) ([]turn, error) {
	c.mu.Lock()
	if ts, ok := c.projects.Get(project); ok {
		out := append([]turn(nil), ts...)
		c.mu.Unlock()
		return out, nil
	}
	missed := c.missed
	c.mu.Unlock()
	ts, err := load()
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.projects.Get(project); !ok && c.missed == missed {
		c.projects.Add(project, ts)
	}
	return append([]turn(nil), ts...), nil
}

func (c *turnCache) update(r *record) {
	c.mu.Lock()
	defer c.mu.Unlock()
	ts, ok := c.projects.Get(r.Project)
	if !ok {
		c.missed++ // loaded from the store on first use
		return
	}
	if r.Role == RoleSystem && r.Command == "clear" {
		c.projects.Add(r.Project, nil)
		return
	}
	t := turn{ID: r.ID, Author: r.Author, Role: r.Role, Text: r.Text, Status: r.Status, Command: r.Command, ReplyTo: r.ReplyTo}
	for i := len(ts) - 1; i >= 0; i-- {
		if ts[i].ID == t.ID {
			ts[i] = t
			return
		}
		if ts[i].ID < t.ID {
			break
		}
	}
	ts = append(ts, t)
	if len(ts) > maxTurns {
		ts = append([]turn(nil), ts[len(ts)-maxTurns:]...)
	}
	c.projects.Add(r.Project, ts)
}

// projectConfig is a project's provider overrides, set with /model or
// SetProjectConfig.
func (e *Engine) projectConfig(ctx context.Context, project string) (provider.Config, error) {
	var c provider.Config
	b, err := e.st.Get(ctx, []byte("ai/config/"+url.PathEscape(project)))
	if errors.Is(err, store.ErrNotFound) {
		return c, nil
	}
	if err != nil {
		return c, fmt.Errorf("load ai config: %w", err)
	}
	var pc ProjectConfig
	if err := json.Unmarshal(b, &pc); err != nil {
		return c, fmt.Errorf("decode ai config: %w", err)
	}
	return pc.config(), nil
}

func (pc ProjectConfig) config() provider.Config {
	return provider.Config{Provider: pc.Provider, Model: pc.Model, BaseURL: pc.BaseURL, CompletionModel: pc.CompletionModel,
		FIM: pc.FIM, FIMTemplate: pc.FIMTemplate, ContextWindow: pc.ContextWindow}
}

// ProjectConfig is what a project may override of the hub's provider
// configuration. Keys are not per project: they come from the hub's
// environment only.
type ProjectConfig struct {
	Provider        string `json:"provider,omitempty"`
	Model           string `json:"model,omitempty"`
	BaseURL         string `json:"baseURL,omitempty"`
	CompletionModel string `json:"completionModel,omitempty"`
	FIM             bool   `json:"fim,omitempty"`
	FIMTemplate     string `json:"fimTemplate,omitempty"`
	ContextWindow   int    `json:"contextWindow,omitempty"`
}

// SetProjectConfig stores a project's overrides (validated offline).
func (e *Engine) SetProjectConfig(ctx context.Context, project string, pc ProjectConfig) error {
	cfg := e.opts.Provider.Merge(pc.config())
	if _, err := provider.New(cfg); err != nil {
		return err
	}
	b, err := json.Marshal(pc)
	if err != nil {
		return err
	}
	return e.st.Put(ctx, []byte("ai/config/"+url.PathEscape(project)), b)
}

// GetProjectConfig returns a project's overrides.
func (e *Engine) GetProjectConfig(ctx context.Context, project string) (ProjectConfig, error) {
	c, err := e.projectConfig(ctx, project)
	return ProjectConfig{Provider: c.Provider, Model: c.Model, BaseURL: c.BaseURL, CompletionModel: c.CompletionModel,
		FIM: c.FIM, FIMTemplate: c.FIMTemplate, ContextWindow: c.ContextWindow}, err
}
