// Package crdt is RubberDuck's text sequence CRDT: every open document lives
// in the hub, and in every LSP proxy, as a replica of a [Doc].
//
// Start with [New] (or [Load] for a saved snapshot), edit with [Doc.Insert]
// and [Doc.Delete], ship the returned update bytes to the other replicas and
// feed what arrives into [Doc.Apply]. Replicas that have applied the same set
// of updates, in any order and with any duplicates, hold byte-identical text.
// Catch-up after a disconnect uses state vectors ([Doc.StateVector],
// [Doc.EncodeSince]).
//
// The ordering algorithm is YjsMod (proven equivalent to FugueMax, which is
// maximally non-interleaving); runs of characters typed in one go are one
// item, kept in a two-level list of blocks with a cursor cache for locality.
// docs/crdt.md explains the design and the alternatives that were rejected.
//
// Positions in this package count Unicode code points; [Convert] translates
// offsets to and from UTF-8 bytes and UTF-16 code units for the editor edge.
//
// The package is pure computation: no I/O, no goroutines, no dependencies
// outside the standard library.
package crdt

import (
	"crypto/rand"
	"encoding/binary"
	"errors"
	"time"
)

// ReplicaID names one replica (one Doc instance: the hub's copy, a proxy's
// copy). It must be unique among all replicas that ever edit a document, so it
// is random; two replicas that share an id corrupt each other's history.
type ReplicaID uint64

// NewReplicaID returns a random non-zero ReplicaID, so callers never have to
// coordinate id allocation.
func NewReplicaID() ReplicaID {
	var b [8]byte
	for {
		if _, err := rand.Read(b[:]); err != nil {
			panic("crdt: crypto/rand failed: " + err.Error()) // never happens on supported platforms
		}
		if id := ReplicaID(binary.LittleEndian.Uint64(b[:])); id != 0 {
			return id
		}
	}
}

// Errors returned by Doc methods, so callers can tell a bad request from a
// corrupt peer.
var (
	// ErrOutOfRange means a local edit named a position or length outside the
	// current text; the document is unchanged.
	ErrOutOfRange = errors.New("crdt: position out of range")
	// ErrInvalidText means inserted text was not valid UTF-8.
	ErrInvalidText = errors.New("crdt: text is not valid UTF-8")
	// ErrMalformed means update or state-vector bytes could not be decoded;
	// the document is unchanged.
	ErrMalformed = errors.New("crdt: malformed update")
	// ErrNothingToUndo is returned by Undo and Redo when the author's stack is
	// empty, so the editor can beep instead of sending an empty update.
	ErrNothingToUndo = errors.New("crdt: nothing to undo")
)

// Change is one text-level edit caused by applying a remote update (or an
// undo): delete Delete code points at Pos, then insert Insert there. Pos is
// relative to the text after the previous Change of the same call, which is
// exactly what an editor's sequential edit list expects.
type Change struct {
	Pos    int
	Delete int
	Insert string
}

// Option configures a Doc at construction; options exist for tests and
// replays that need a deterministic clock.
type Option func(*Doc)

// WithClock sets the clock that stamps local edits for attribution and undo
// grouping (default time.Now).
func WithClock(now func() time.Time) Option { return func(d *Doc) { d.now = now } }

// WithUndoGroup sets how close in time two local edits by the same author
// must be to undo as one step (default 500ms, like Yjs; 0 disables grouping).
func WithUndoGroup(window time.Duration) Option { return func(d *Doc) { d.undoGroup = window } }

// AttributionQuantum is how long one author's consecutive typing is kept as
// a single attribution run stamped with the run's start time. It bounds the
// size of the attribution metadata to one entry per author per minute of
// typing instead of one per keystroke.
const AttributionQuantum = 60 // seconds

// Doc is one replica of a text document. A Doc is NOT safe for concurrent
// use: its owner (a document room, a proxy buffer) serialises calls, which is
// cheaper than locking per keystroke.
type Doc struct {
	me      uint32 // index of our own replica in agents
	agents  []*agentState
	agentOf map[ReplicaID]uint32

	blocks []*block
	vis    int // visible code points
	cur    cursor

	pending    []*run   // remote runs waiting for their causal dependencies
	pendingDel []idSpan // remote deletions of items not yet received

	authors  []string
	authorOf map[string]uint32

	now       func() time.Time
	undoGroup time.Duration
	undo      map[string]*undoState
	redone    []redoLink

	track    bool     // collect changes (during Apply, Undo, Redo)
	changes  []Change // changes collected so far
	lastInsN int      // code points inserted by the last collected change
	txDels   []idSpan // deletions made by the current local transaction
	enc      *encoder // reused between updates
	slab     []item   // preallocated items
}

// New returns an empty document replica owned by id.
func New(id ReplicaID, opts ...Option) *Doc {
	d := &Doc{
		agentOf:   map[ReplicaID]uint32{},
		authorOf:  map[string]uint32{},
		blocks:    []*block{{items: make([]*item, 0, 8)}},
		now:       time.Now,
		undoGroup: 500 * time.Millisecond,
		undo:      map[string]*undoState{},
	}
	for _, o := range opts {
		o(d)
	}
	d.me = d.agent(id)
	return d
}

// Load returns a replica owned by id holding the document in snapshot (the
// bytes of [Doc.EncodeState] or any update). Use a fresh [NewReplicaID]
// unless the snapshot holds every edit this id ever made: reusing an id whose
// later edits exist elsewhere makes two replicas claim the same ids.
func Load(id ReplicaID, snapshot []byte, opts ...Option) (*Doc, error) {
	d := New(id, opts...)
	if _, err := d.apply(snapshot, false); err != nil {
		return nil, err
	}
	return d, nil
}

// ID returns the replica id this Doc stamps its edits with.
func (d *Doc) ID() ReplicaID { return d.agents[d.me].rid }

// Len returns the length of the text in code points.
func (d *Doc) Len() int { return d.vis }

// Text returns the current text.
func (d *Doc) Text() string {
	n := 0
	for _, b := range d.blocks {
		for _, it := range b.items {
			n += len(it.text)
		}
	}
	buf := make([]byte, 0, n)
	for _, b := range d.blocks {
		for _, it := range b.items {
			buf = append(buf, it.text...)
		}
	}
	return string(buf)
}

// agent returns the internal index of rid, adding it if new.
func (d *Doc) agent(rid ReplicaID) uint32 {
	if a, ok := d.agentOf[rid]; ok {
		return a
	}
	a := uint32(len(d.agents))
	d.agents = append(d.agents, &agentState{rid: rid})
	d.agentOf[rid] = a
	return a
}

// author returns the internal index of an author name, adding it if new.
func (d *Doc) author(name string) uint32 {
	if a, ok := d.authorOf[name]; ok {
		return a
	}
	a := uint32(len(d.authors))
	d.authors = append(d.authors, name)
	d.authorOf[name] = a
	return a
}
