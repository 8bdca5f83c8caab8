package lsp

import (
	"errors"
	"fmt"
	"unicode/utf8"

	lsp "go.lsp.dev/protocol"

	"github.com/rubberduckhub/rubberduck/hub/crdt"
)

// contentChange is LSP's TextDocumentContentChangeEvent with an optional
// range: go.lsp.dev/protocol's type cannot tell a full-text change (no
// range) from an insertion at 0:0.
type contentChange struct {
	Range *lsp.Range `json:"range,omitempty"`
	Text  string     `json:"text"`
}

// document is one open editor buffer and its replicas. It keeps two CRDT
// docs so that the CRDT itself rebases the editor's edits over remote ones:
//
//   - mirror holds exactly what the editor's buffer holds (text, at
//     version). The editor's own edits are made here, at the positions the
//     editor reported, so they need no transformation.
//   - replica holds mirror's history plus every remote update. It is what
//     the hub syncs with. mirror's operations are always a subset of
//     replica's, so replica.EncodeSince(mirror.StateVector()) is exactly what
//     the editor still has to be shown.
//
// Remote changes reach the editor as one versioned workspace/applyEdit at a
// time (pending). Whether the editor applied it is decided by the next
// didChange, never by the applyEdit answer (Neovim answers applied:true even
// when it drops a stale edit): if that didChange turns the text into what the
// edit would have, it was the edit's echo, and only then does the remote
// update enter mirror; otherwise the editor typed first, dropped the edit,
// and a fresh one is computed from the new state. Echoes are thus never
// mistaken for local edits.
//
// A document is not safe for concurrent use; the proxy's loop owns it.
type document struct {
	uri     lsp.DocumentURI
	path    string // project-relative, slash-separated
	unit    crdt.Unit
	author  string
	replica *crdt.Doc
	mirror  *crdt.Doc
	text    string // the editor's buffer, normalised to \n
	version int32
	opened  string // text at didOpen, the base for a first merge

	// joined is set once the replica holds the hub's state at least once;
	// before that local edits only change text (they are merged at the
	// first sync by diffing against opened).
	joined bool
	// reset is set while the editor shows text mirror does not hold: its
	// buffer differed from the hub's when the document was first synced,
	// and the hub's text wins.
	reset   bool
	pending *pendingEdit
	nextSeq uint64
	// syncGen is the hub connection generation this document was last
	// synced on; updates are sent live only on that connection.
	syncGen uint64
	// readOnly is set when the hub says the person is a reader: their
	// typing is not shared, and the editor is put back to the shared text.
	readOnly     bool
	toldReadOnly bool // the person was told once per document
}

// pendingEdit is a workspace/applyEdit sent to the editor and not yet
// decided by a didChange.
type pendingEdit struct {
	edits    []lsp.TextEdit
	seq      uint64
	base     int32  // the editor version the edit was computed for
	update   []byte // what enters mirror when the echo arrives (nil for a reset)
	expected string // the editor's text once the edit is applied
	answered bool   // the editor has answered the request
}

func newDocument(uri lsp.DocumentURI, path string, version int32, text string, unit crdt.Unit, author string) *document {
	text = normalizeEOL(text)
	return &document{
		uri: uri, path: path, unit: unit, author: author,
		replica: crdt.New(crdt.NewReplicaID()),
		mirror:  crdt.New(crdt.NewReplicaID()),
		text:    text, opened: text, version: version,
	}
}

// errReadOnly means a reader typed: nothing was shared and the editor will
// be put back to the shared text.
var errReadOnly = errors.New("read-only: the change was not shared")

// errDiverged means the editor reported a change that does not fit the text
// the proxy believes it has; the caller reopens the document from scratch.
var errDiverged = errors.New("editor buffer diverged from the proxy's copy")

// didChange applies one didChange from the editor. It returns the CRDT
// updates caused by the editor's own edits, in order, for the hub.
func (d *document) didChange(version int32, changes []contentChange) ([][]byte, error) {
	prevVersion := d.version
	d.version = version
	start := 0
	if p := d.pending; p != nil && p.base == prevVersion {
		// The first didChange after the edit was sent decides it.
		d.pending = nil
		t := d.text
		echo := -1
		for i, ch := range changes {
			var err error
			if t, err = applyChange(t, ch, d.unit); err != nil {
				break
			}
			if t == p.expected {
				echo = i
				break
			}
		}
		if echo >= 0 {
			if p.update != nil {
				if _, err := d.mirror.Apply(p.update); err != nil {
					return nil, fmt.Errorf("apply echoed update: %w", err)
				}
			}
			// After a reset (update nil) mirror already holds expected.
			d.reset = false
			d.text = p.expected
			start = echo + 1
		}
	}
	if d.readOnly && d.joined {
		// A reader's change stays out of the replicas; the editor shows
		// text mirror does not hold, so nextEdit resets it.
		for _, ch := range changes[start:] {
			t, err := applyChange(d.text, ch, d.unit)
			if err != nil {
				return nil, errDiverged
			}
			d.text = t
		}
		if len(changes[start:]) > 0 {
			d.reset = true
			return nil, errReadOnly
		}
		return nil, nil
	}
	var out [][]byte
	for _, ch := range changes[start:] {
		u, err := d.local(ch)
		if err != nil {
			return out, err
		}
		if u != nil {
			out = append(out, u)
		}
	}
	return out, nil
}

// local applies one edit the editor's user made.
func (d *document) local(ch contentChange) ([]byte, error) {
	text := normalizeEOL(ch.Text)
	var start, end int
	if ch.Range == nil {
		p, s := commonEnds(d.text, text)
		start, end = p, len(d.text)-s
		text = text[p : len(text)-s]
	} else {
		var err error
		if start, err = byteOffset(d.text, ch.Range.Start.Line, ch.Range.Start.Character, d.unit); err != nil {
			return nil, fmt.Errorf("%w: %v", errDiverged, err)
		}
		if end, err = byteOffset(d.text, ch.Range.End.Line, ch.Range.End.Character, d.unit); err != nil {
			return nil, fmt.Errorf("%w: %v", errDiverged, err)
		}
		if end < start {
			start, end = end, start
		}
	}
	// Editors report lines, not keystrokes (Neovim 0.7 sends a whole-line
	// replacement for a new line typed at its start): trim what the change
	// keeps, or a concurrent edit of the same lines would see the kept text
	// deleted and inserted again, and the CRDT would rightly keep both
	// copies.
	if p, s := commonEnds(d.text[start:end], text); p > 0 || s > 0 {
		text = text[p : len(text)-s]
		start, end = start+p, end-s
	}
	before := d.text
	d.text = before[:start] + text + before[end:]
	if !d.joined {
		return nil, nil
	}
	if d.reset {
		// A reset is in flight and the user typed first: the edit was
		// made on text mirror does not hold. Keep the editor's text; the
		// next reset replaces it (this only happens in the first moments
		// after opening a file whose buffer differs from the hub's).
		return nil, nil
	}
	pos := utf8.RuneCountInString(before[:start])
	n := utf8.RuneCountInString(before[start:end])
	u, err := d.mirror.Replace(d.author, pos, n, text)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", errDiverged, err)
	}
	if u == nil {
		return nil, nil
	}
	if _, err := d.replica.Apply(u); err != nil {
		return nil, fmt.Errorf("apply local update: %w", err)
	}
	return u, nil
}

// applyChange returns text with one LSP content change applied.
func applyChange(text string, ch contentChange, u crdt.Unit) (string, error) {
	if ch.Range == nil {
		return normalizeEOL(ch.Text), nil
	}
	start, err := byteOffset(text, ch.Range.Start.Line, ch.Range.Start.Character, u)
	if err != nil {
		return "", err
	}
	end, err := byteOffset(text, ch.Range.End.Line, ch.Range.End.Character, u)
	if err != nil {
		return "", err
	}
	if end < start {
		start, end = end, start
	}
	return text[:start] + normalizeEOL(ch.Text) + text[end:], nil
}

// remote applies a CRDT update from the hub to the replica.
func (d *document) remote(update []byte) error {
	if _, err := d.replica.Apply(update); err != nil {
		return fmt.Errorf("apply remote update: %w", err)
	}
	return nil
}

// joinHub is called when the replica first holds the hub's state: it makes
// mirror a copy of the replica and merges what the editor did meanwhile.
// If the editor's text when opened matches the hub's, the user's edits since
// then become local edits; otherwise the hub's text wins and the editor is
// reset to it. It returns the updates to send to the hub.
func (d *document) joinHub() ([][]byte, error) {
	mirror, err := crdt.Load(crdt.NewReplicaID(), d.replica.EncodeState())
	if err != nil {
		return nil, fmt.Errorf("copy replica: %w", err)
	}
	d.mirror = mirror
	d.joined = true
	hubText := d.replica.Text()
	if d.text == hubText {
		return nil, nil
	}
	if d.opened == hubText {
		// Edited offline since opening: those edits are ours.
		cur := d.text
		d.text = hubText
		u, err := d.local(contentChange{Text: cur})
		if err != nil || u == nil {
			return nil, err
		}
		return [][]byte{u}, nil
	}
	d.reset = true // nextEdit resets the editor to the hub's text
	return nil, nil
}

// nextEdit returns the workspace/applyEdit the editor needs to catch up with
// the replica, or nil when it is up to date or an edit is still undecided.
func (d *document) nextEdit() *pendingEdit {
	if d.pending != nil || !d.joined {
		return nil
	}
	want := d.replica.Text()
	if want == d.text {
		return nil
	}
	var update []byte
	if !d.reset {
		update = d.replica.EncodeSince(d.mirror.StateVector())
	} else {
		// The editor shows text mirror never had: make mirror the
		// replica's copy and reset the editor to it.
		m, err := crdt.Load(crdt.NewReplicaID(), d.replica.EncodeState())
		if err != nil {
			return nil
		}
		d.mirror = m
	}
	d.nextSeq++
	d.pending = &pendingEdit{seq: d.nextSeq, base: d.version, update: update, expected: want}
	d.pending.edits = []lsp.TextEdit{d.textEdit(d.pending)}
	return d.pending
}

// textEdit is the single LSP edit that turns the editor's text into p's.
func (d *document) textEdit(p *pendingEdit) lsp.TextEdit {
	pre, suf := editEnds(d.text, p.expected)
	s := position(d.text, pre, d.unit)
	e := position(d.text, len(d.text)-suf, d.unit)
	return lsp.TextEdit{
		Range: lsp.Range{
			Start: lsp.Position{Line: s.Line, Character: s.Character},
			End:   lsp.Position{Line: e.Line, Character: e.Character},
		},
		NewText: p.expected[pre : len(p.expected)-suf],
	}
}

// answered records the editor's answer to edit seq. applied:false means the
// edit was dropped for sure; applied:true decides nothing (see document).
func (d *document) answered(seq uint64, applied bool) {
	p := d.pending
	if p == nil || p.seq != seq {
		return
	}
	p.answered = true
	if !applied {
		d.pending = nil
	}
}

// editEnds is commonEnds that keeps a final newline both texts have out of
// the edit: Neovim holds it as 'eol', not as text, and mangles edits that
// reach past it (0.7 turns an insertion after it into extra lines).
func editEnds(a, b string) (p, s int) {
	if len(a) > 0 && len(b) > 0 && a[len(a)-1] == '\n' && b[len(b)-1] == '\n' {
		p, s = commonEnds(a[:len(a)-1], b[:len(b)-1])
		return p, s + 1
	}
	return commonEnds(a, b)
}

// disjoint reports whether two non-empty state vectors share no replica:
// the hub's document is a different history from ours (its store was lost
// and it loaded the file afresh), and merging the two would double the text.
func disjoint(a, b crdt.StateVector) bool {
	if len(a) == 0 || len(b) == 0 {
		return false
	}
	for id, n := range a {
		if n > 0 && b[id] > 0 {
			return false
		}
	}
	return true
}

// adoptHistory replaces the replica with the hub's (different) history and
// makes what the editor shows local edits on top of it, so nothing the
// person sees is lost and nothing is doubled. It returns the updates to send.
func (d *document) adoptHistory(hubState []byte) ([][]byte, error) {
	fresh := crdt.New(crdt.NewReplicaID())
	if _, err := fresh.Apply(hubState); err != nil {
		return nil, fmt.Errorf("adopt hub history: %w", err)
	}
	d.replica = fresh
	d.pending = nil
	d.reset = false
	d.opened = fresh.Text() // the editor's text counts as edits made since
	return d.joinHub()
}
