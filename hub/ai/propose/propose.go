// Package propose turns the AI's suggested changes into reviewable edit
// proposals: one proposal per file, split into hunks that anyone with write
// access accepts or rejects one by one.
//
// A proposal is computed against the document as it was when the model
// answered, but people keep typing. Accepting a hunk therefore re-locates
// its original lines in the current document, first exactly, then ignoring
// spacing, then ignoring indentation; a hunk whose lines are gone is marked
// as a conflict and reported, never applied at a guessed place.
package propose

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"sync"
	"time"

	udiff "github.com/aymanbagabas/go-udiff"

	"github.com/rubberduckhub/rubberduck/hub/store"
)

// Edit replaces the bytes [Start, End) of a document's text, as Documents
// returned it at a version, with NewText.
type Edit struct {
	Start   int    `json:"start"`
	End     int    `json:"end"`
	NewText string `json:"newText"`
}

// ErrStale is what Documents.Apply returns when the document moved past the
// version the edits were computed against; the manager then locates again.
var ErrStale = errors.New("propose: document changed since it was read")

// Documents is the live text of project files: the CRDT document while it
// is open, the file otherwise. The hub wires it to hub/crdt.
type Documents interface {
	// Text returns the current text of path and a version that changes
	// with every edit.
	Text(ctx context.Context, project, path string) (text string, version uint64, err error)
	// Apply makes edits, computed against version, on behalf of author, or
	// returns ErrStale when the document has changed since.
	Apply(ctx context.Context, project, path, author string, version uint64, edits []Edit) error
}

// Notifier tells the room that a proposal appeared or changed; the engine
// sends it as $/rubberduck/proposal.
type Notifier func(ctx context.Context, p *Proposal)

// Status is the state of one hunk.
type Status string

// Hunk states. Conflict means the hunk no longer applies to the document.
const (
	Pending  Status = "pending"
	Accepted Status = "accepted"
	Rejected Status = "rejected"
	Conflict Status = "conflict"
)

// Hunk is one reviewable change. Diff is its unified diff; Old and New are
// the lines it replaces and the lines it puts in their place (with context).
type Hunk struct {
	Index      int       `json:"index"`
	Diff       string    `json:"diff"`
	OldStart   int       `json:"oldStart"` // 1-based line in the original text
	Status     Status    `json:"status"`
	Match      MatchMode `json:"match,omitempty"`
	Reason     string    `json:"reason,omitempty"`
	ResolvedBy string    `json:"resolvedBy,omitempty"`
	Old        string    `json:"old"`
	New        string    `json:"new"`
}

// Proposal is the AI's suggested change to one file.
type Proposal struct {
	ID        string    `json:"id"`
	Project   string    `json:"project"`
	Path      string    `json:"path"`
	MessageID string    `json:"messageId,omitempty"`
	Author    string    `json:"author"` // who asked
	Title     string    `json:"title,omitempty"`
	Hunks     []Hunk    `json:"hunks"`
	Created   time.Time `json:"created"`
}

// Done reports whether no hunk is pending any more.
func (p *Proposal) Done() bool {
	for _, h := range p.Hunks {
		if h.Status == Pending {
			return false
		}
	}
	return true
}

// Manager creates, stores and resolves proposals.
type Manager struct {
	st     store.Store
	docs   Documents
	notify Notifier
	now    func() time.Time
	mu     sync.Mutex // serialises resolutions: two people accepting at once
}

// NewManager returns a manager persisting in st. notify may be nil.
func NewManager(st store.Store, docs Documents, notify Notifier) *Manager {
	if notify == nil {
		notify = func(context.Context, *Proposal) {}
	}
	return &Manager{st: st, docs: docs, notify: notify, now: time.Now}
}

// ErrNoChange is returned by Create when before and after are equal.
var ErrNoChange = errors.New("propose: the proposal changes nothing")

// ErrNotFound is returned for an unknown proposal or hunk.
var ErrNotFound = errors.New("propose: no such proposal or hunk")

// contextLines is how many unchanged lines surround each hunk; they are what
// lets a hunk be found again after the document moved.
const contextLines = 3

// Create splits the change from before to after into hunks, stores the
// proposal and announces it.
func (m *Manager) Create(ctx context.Context, project, path, messageID, author, title, before, after string) (*Proposal, error) {
	edits := udiff.Lines(before, after)
	if len(edits) == 0 {
		return nil, ErrNoChange
	}
	ud, err := udiff.ToUnifiedDiff(path, path, before, edits, contextLines)
	if err != nil {
		return nil, fmt.Errorf("diff %s: %w", path, err)
	}
	p := &Proposal{ID: newID(), Project: project, Path: path, MessageID: messageID, Author: author, Title: title, Created: m.now()}
	for i, h := range ud.Hunks {
		var oldB, newB strings.Builder
		for _, l := range h.Lines {
			switch l.Kind {
			case udiff.Delete:
				oldB.WriteString(l.Content)
			case udiff.Insert:
				newB.WriteString(l.Content)
			default:
				oldB.WriteString(l.Content)
				newB.WriteString(l.Content)
			}
		}
		one := udiff.UnifiedDiff{From: "a/" + path, To: "b/" + path, Hunks: []*udiff.Hunk{h}}
		p.Hunks = append(p.Hunks, Hunk{Index: i, Diff: one.String(), OldStart: h.FromLine, Status: Pending, Old: oldB.String(), New: newB.String()})
	}
	if err := m.save(ctx, p); err != nil {
		return nil, err
	}
	m.notify(ctx, p)
	return p, nil
}

// Get returns a stored proposal.
func (m *Manager) Get(ctx context.Context, project, id string) (*Proposal, error) {
	b, err := m.st.Get(ctx, key(project, id))
	if errors.Is(err, store.ErrNotFound) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("load proposal: %w", err)
	}
	var p Proposal
	if err := json.Unmarshal(b, &p); err != nil {
		return nil, fmt.Errorf("decode proposal: %w", err)
	}
	return &p, nil
}

// List returns a project's proposals that still have pending hunks.
func (m *Manager) List(ctx context.Context, project string) ([]*Proposal, error) {
	var out []*Proposal
	err := m.st.Scan(ctx, []byte(prefix(project)), func(_, v []byte) (bool, error) {
		var p Proposal
		if json.Unmarshal(v, &p) == nil && !p.Done() {
			out = append(out, &p)
		}
		return true, nil
	})
	return out, err
}

// Resolve accepts or rejects one hunk (hunk < 0: every pending hunk) on
// behalf of person, who the caller has checked may write to the project.
// Accepting re-locates the hunk in the current document; a hunk that no
// longer applies becomes a Conflict with a Reason, which is not an error.
func (m *Manager) Resolve(ctx context.Context, project, id string, hunk int, accept bool, person string) (*Proposal, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	p, err := m.Get(ctx, project, id)
	if err != nil {
		return nil, err
	}
	var todo []int
	for i := range p.Hunks {
		if (hunk < 0 || i == hunk) && p.Hunks[i].Status == Pending {
			todo = append(todo, i)
		}
	}
	if hunk >= len(p.Hunks) {
		return nil, ErrNotFound
	}
	if accept && m.docs == nil {
		return nil, ErrNoDocuments
	}
	for _, i := range todo {
		h := &p.Hunks[i]
		h.ResolvedBy = person
		if !accept {
			h.Status = Rejected
			continue
		}
		if err := m.apply(ctx, p, h, person); err != nil {
			return nil, err
		}
	}
	if err := m.save(ctx, p); err != nil {
		return nil, err
	}
	m.notify(ctx, p)
	return p, nil
}

// ErrNoDocuments is returned when accepting on a hub without live documents.
var ErrNoDocuments = errors.New("propose: this hub cannot apply edits (no document access configured)")

func (m *Manager) apply(ctx context.Context, p *Proposal, h *Hunk, person string) error {
	if m.docs == nil {
		return ErrNoDocuments
	}
	for attempt := 0; attempt < 5; attempt++ {
		text, version, err := m.docs.Text(ctx, p.Project, p.Path)
		if err != nil {
			return fmt.Errorf("read %s: %w", p.Path, err)
		}
		old := splitLines(h.Old)
		sp, ok := locate(text, old, h.OldStart-1)
		if !ok {
			h.Status = Conflict
			h.Reason = "the lines this change replaces were edited since it was proposed; it no longer applies"
			return nil
		}
		newText := rebuild(parseOps(h.Diff), splitLines(text[sp.start:sp.stop]))
		err = m.docs.Apply(ctx, p.Project, p.Path, person, version, []Edit{{Start: sp.start, End: sp.stop, NewText: newText}})
		if errors.Is(err, ErrStale) {
			continue
		}
		if err != nil {
			return fmt.Errorf("apply to %s: %w", p.Path, err)
		}
		h.Status = Accepted
		h.Match = sp.mode
		return nil
	}
	h.Status = Conflict
	h.Reason = "the document kept changing while the change was applied; try again"
	return nil
}

func (m *Manager) save(ctx context.Context, p *Proposal) error {
	b, err := json.Marshal(p)
	if err != nil {
		return fmt.Errorf("encode proposal: %w", err)
	}
	if err := m.st.Put(ctx, key(p.Project, p.ID), b); err != nil {
		return fmt.Errorf("save proposal: %w", err)
	}
	return nil
}

func prefix(project string) string { return "ai/proposal/" + url.PathEscape(project) + "/" }

func key(project, id string) []byte { return []byte(prefix(project) + id) }

func newID() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return fmt.Sprintf("p%x-%s", time.Now().UnixMilli(), hex.EncodeToString(b[:4]))
}
