package lsp

import (
	"errors"
	"fmt"

	lsp "go.lsp.dev/protocol"

	"github.com/rubberduckhub/rubberduck/hub/crdt"
	"github.com/rubberduckhub/rubberduck/lsp/protocol"
	lsync "github.com/rubberduckhub/rubberduck/lsp/sync"
)

// document is one open editor buffer and its CRDT replica. The replica is
// what the hub syncs with; an lsp/sync Buffer keeps the editor's buffer and
// the replica in step (versioned applyEdit, lost races re-sent, echoes
// never applied twice), exactly as the hub does for its thin clients.
//
// Before the replica first holds the hub's state there is nothing to
// reconcile with: the editor's changes only update text, and joinHub
// decides what they become (see there).
//
// A document is not safe for concurrent use; the proxy's loop owns it.
type document struct {
	uri      lsp.DocumentURI
	path     string // project-relative, slash-separated
	encoding string
	author   string
	replica  *crdt.Doc

	// buf is nil until the replica holds the hub's state (joined).
	buf *lsync.Buffer
	// Before joining: the editor's text (normalised) and version, and the
	// text it opened with, the base for the first merge.
	text    string
	version int32
	opened  string

	// syncGen is the hub connection generation this document was last
	// synced on; updates are sent live only on that connection.
	syncGen uint64
	// readOnly is set when the hub says the person is a reader: their
	// typing is not shared, and the editor is put back to the shared text.
	readOnly     bool
	toldReadOnly bool // the person was told once per document
}

// outcome is what an event on a document asks of the proxy: updates for
// the hub, in order, and an applyEdit for the editor.
type outcome struct {
	updates [][]byte
	edit    *lsync.Edit
	// refused is set when a reader's change was undone instead of shared.
	refused bool
}

func newDocument(uri lsp.DocumentURI, path string, version int32, text, encoding, author string) *document {
	text = lsync.Normalize(text)
	return &document{
		uri: uri, path: path, encoding: encoding, author: author,
		replica: crdt.New(crdt.NewReplicaID()),
		text:    text, opened: text, version: version,
	}
}

func (d *document) joined() bool { return d.buf != nil }

// editorText is what the editor's buffer is believed to hold.
func (d *document) editorText() string {
	if d.buf != nil {
		return d.buf.EditorText()
	}
	return d.text
}

// errDiverged means the editor reported a change that does not fit the text
// the proxy believes it has; the editor is reset to the shared text.
var errDiverged = errors.New("editor buffer diverged from the proxy's copy")

// didChange takes one didChange from the editor.
func (d *document) didChange(version int32, changes []protocol.TextDocumentContentChangeEvent) (outcome, error) {
	if d.buf == nil {
		text := d.text
		for _, c := range changes {
			t, err := applyChange(text, c, d.encoding)
			if err != nil {
				return outcome{}, fmt.Errorf("%w: %v", errDiverged, err)
			}
			text = t
		}
		d.text, d.version = text, version
		return outcome{}, nil
	}
	res, err := d.buf.EditorChanged(version, changes)
	if err != nil {
		// The change did not fit: nothing of it was applied. Put the
		// editor back to the shared text rather than guess.
		return outcome{edit: d.buf.Resync()}, fmt.Errorf("%w: %v", errDiverged, err)
	}
	return outcome{updates: res.Updates, edit: res.Edit, refused: res.Refused}, nil
}

// applyChange returns text with one LSP content change applied.
func applyChange(text string, c protocol.TextDocumentContentChangeEvent, encoding string) (string, error) {
	ins := lsync.Normalize(c.Text)
	if c.Range == nil {
		return ins, nil
	}
	u := lsync.UnitOf(encoding)
	start, err := lsync.Offset(text, c.Range.Start, u)
	if err != nil {
		return "", err
	}
	end, err := lsync.Offset(text, c.Range.End, u)
	if err != nil {
		return "", err
	}
	if end < start {
		start, end = end, start
	}
	rs := []rune(text)
	return string(rs[:start]) + ins + string(rs[end:]), nil
}

// remote applies a CRDT update from the hub to the replica and returns the
// applyEdit that shows it in the editor, if one can be sent now.
func (d *document) remote(update []byte) (*lsync.Edit, error) {
	changes, err := d.replica.Apply(update)
	if err != nil {
		return nil, fmt.Errorf("apply remote update: %w", err)
	}
	if d.buf == nil {
		return nil, nil
	}
	return d.buf.RemoteApplied(changes), nil
}

// answered takes the editor's answer to applyEdit id and returns what to
// send next (a refused edit's changes, re-sent against the current version).
func (d *document) answered(id uint64, applied bool) *lsync.Edit {
	if d.buf == nil {
		return nil
	}
	d.buf.EditResult(id, applied)
	if applied {
		return nil
	}
	return d.buf.Flush()
}

// joinHub is called when the replica first holds the hub's state. What the
// editor shows then decides the merge: the hub's text (nothing to do), the
// text it opened with plus the person's edits since (those edits become
// theirs, made on the shared text), or anything else (the hub's text wins
// and the editor is rewritten to it, as it is for a reader who typed).
func (d *document) joinHub() (outcome, error) {
	var out outcome
	hubText := d.replica.Text()
	if d.text != hubText && d.opened == hubText && !d.readOnly {
		for _, c := range lsync.Diff(hubText, d.text) {
			u, err := d.replica.Replace(d.author, c.Pos, c.Delete, c.Insert)
			if err != nil {
				return outcome{}, fmt.Errorf("merge offline edits: %w", err)
			}
			if u != nil {
				out.updates = append(out.updates, u)
			}
		}
	}
	out.refused = d.readOnly && d.text != d.opened
	d.buf = lsync.New(d.replica, d.author, d.encoding)
	d.buf.SetReadOnly(d.readOnly)
	out.edit = d.buf.Open(d.version, d.text)
	d.text, d.opened = "", ""
	return out, nil
}

// errNotJoined means the document has not reached the hub's state yet, so
// there is no shared history to undo.
var errNotJoined = errors.New("the document is not shared yet")

// undo reverts the person's most recent undo step (redo: re-applies the
// step they last undid) on the replica, and returns the update for the hub
// and the applyEdit that shows it in the editor.
func (d *document) undo(redo bool) (outcome, error) {
	if d.buf == nil {
		return outcome{}, errNotJoined
	}
	if d.readOnly {
		return outcome{}, crdt.ErrNothingToUndo
	}
	do := d.replica.Undo
	if redo {
		do = d.replica.Redo
	}
	u, changes, err := do(d.author)
	if err != nil {
		return outcome{}, err
	}
	var out outcome
	if u != nil {
		out.updates = [][]byte{u}
	}
	out.edit = d.buf.RemoteApplied(changes)
	return out, nil
}

// setReadOnly records the person's role as the hub last told it.
func (d *document) setReadOnly(ro bool) {
	d.readOnly = ro
	if d.buf != nil {
		d.buf.SetReadOnly(ro)
	}
}

// adoptHistory replaces the replica with the hub's (different) history and
// makes what the editor shows local edits on top of it, so nothing the
// person sees is lost and nothing is doubled. An applyEdit still in flight
// on the old history is forgotten: if the editor applies it after all, the
// change arrives as the person's (it is in the text they see).
func (d *document) adoptHistory(hubState []byte) (outcome, error) {
	fresh := crdt.New(crdt.NewReplicaID())
	if _, err := fresh.Apply(hubState); err != nil {
		return outcome{}, fmt.Errorf("adopt hub history: %w", err)
	}
	if d.buf != nil {
		d.text, d.version = d.buf.EditorText(), d.buf.Version()
		d.buf = nil
	}
	d.replica = fresh
	d.opened = fresh.Text() // the editor's text counts as edits made since
	return d.joinHub()
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
