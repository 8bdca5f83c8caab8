package sync

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/rubberduckhub/rubberduck/hub/crdt"
	"github.com/rubberduckhub/rubberduck/lsp/protocol"
)

// ErrNotOpen means the editor has not opened the buffer (Open was not
// called, or Close was).
var ErrNotOpen = errors.New("sync: buffer is not open in the editor")

// Buffer reconciles one editor buffer with one CRDT replica. It is a pure
// state machine: its owner does the I/O (reads didChange, sends applyEdit,
// ships CRDT updates) and serialises every call together with every other
// use of the Doc, which Buffer reads and edits directly.
//
// What it keeps: the text the editor holds at the last version it reported
// (the shadow), at most one workspace/applyEdit in flight, and the changes
// the editor has yet to receive (queued). The Doc's text is always the
// shadow with the in-flight edit and then the queued changes applied.
type Buffer struct {
	doc    *crdt.Doc
	author string
	unit   crdt.Unit

	open     bool
	readOnly bool
	version  int32
	shadow   string // the editor's text at version, line endings normalised

	flight *flight
	queued op // from the in-flight edit's target (or the shadow) to the Doc

	// resyncing: the shadow is unknown (a change could not be decoded) and
	// a whole-buffer replacement is in flight; changes are ignored until
	// its echo arrives.
	resyncing bool

	nextID uint64
}

// flight is an applyEdit the editor has not been seen to apply or drop.
type flight struct {
	id      uint64
	version int32  // the version the edit was addressed to
	target  string // the shadow once the edit is applied
	parts   []edit // not yet echoed, relative to the current shadow, ascending
}

// Edit is a workspace/applyEdit the owner must send: edits to the editor's
// buffer at Version (versioned, so a stale edit is refused by the editor).
// Pass ID back to EditResult with the editor's answer.
type Edit struct {
	ID      uint64
	Version int32
	Edits   []protocol.TextEdit
}

// Params returns the applyEdit params for the buffer's URI. They carry no
// label: Neovim prints an edit's label on every remote keystroke.
func (e *Edit) Params(uri string) protocol.ApplyWorkspaceEditParams {
	v := e.Version
	return protocol.ApplyWorkspaceEditParams{
		Edit: protocol.WorkspaceEdit{DocumentChanges: []protocol.TextDocumentEdit{{
			TextDocument: protocol.OptionalVersionedTextDocumentIdentifier{URI: uri, Version: &v},
			Edits:        e.Edits,
		}}},
	}
}

// Result is what a local edit produced.
type Result struct {
	// Updates are CRDT updates to send to the other replicas, in order.
	Updates [][]byte
	// Changes are the text changes made to the Doc, in the form Doc.Apply
	// returns (sequential, code points): owners that share the Doc between
	// several buffers (the hub's thin clients) pass them to the others'
	// RemoteApplied.
	Changes []crdt.Change
	// Edit, when not nil, must be sent to the editor.
	Edit *Edit
	// Refused is true when the buffer is read-only and the editor's change
	// was reverted instead of applied (Edit undoes it): tell the person.
	Refused bool
}

// New returns a Buffer for doc, whose local edits are attributed to author
// and whose positions are counted in encoding (protocol.EncodingUTF8,
// EncodingUTF16 or EncodingUTF32, as negotiated at initialize).
func New(doc *crdt.Doc, author, encoding string) *Buffer {
	return &Buffer{doc: doc, author: author, unit: UnitOf(encoding)}
}

// Doc returns the replica the buffer edits.
func (b *Buffer) Doc() *crdt.Doc { return b.doc }

// Unit returns the unit editor positions are counted in.
func (b *Buffer) Unit() crdt.Unit { return b.unit }

// SetReadOnly makes the buffer refuse local edits: they are reverted in the
// editor rather than applied to the Doc (readers' buffers).
func (b *Buffer) SetReadOnly(ro bool) { b.readOnly = ro }

// Version is the last version the editor reported.
func (b *Buffer) Version() int32 { return b.version }

// EditorText is the text the buffer believes the editor holds.
func (b *Buffer) EditorText() string { return b.shadow }

// InSync reports whether the editor is known to hold the Doc's text.
func (b *Buffer) InSync() bool { return b.open && b.flight == nil && b.queued.noop() }

// Open records that the editor opened the buffer at version with text. The
// Doc wins: if the editor's text differs, the returned Edit rewrites the
// editor's buffer to the Doc's text with a minimal diff.
func (b *Buffer) Open(version int32, text string) *Edit {
	b.open = true
	b.version = version
	b.shadow = Normalize(text)
	b.flight = nil
	b.resyncing = false
	b.queued = diffOp(b.shadow, b.doc.Text())
	return b.send()
}

// Close forgets the editor's buffer (didClose).
func (b *Buffer) Close() {
	b.open = false
	b.flight = nil
	b.queued = nil
	b.shadow = ""
}

// EditorChanged takes one didChange: the editor's buffer went to version
// through changes (applied in order, positions in the negotiated encoding).
// Changes that are the echo of our own applyEdit are recognised and not
// applied again; the others are the person's typing, moved across whatever
// the editor has not received yet and applied to the Doc. On error nothing
// changed except the recorded version.
func (b *Buffer) EditorChanged(version int32, changes []protocol.TextDocumentContentChangeEvent) (res Result, err error) {
	if !b.open {
		return Result{}, ErrNotOpen
	}
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("sync: internal error: %v", r)
		}
	}()
	if b.resyncing {
		return b.resyncChanged(version, changes), nil
	}
	// Decode every change against the evolving shadow first, so a bad
	// position leaves the state as it was.
	locals := make([]edit, 0, len(changes))
	texts := make([]string, 0, len(changes)) // the shadow after each change
	text := b.shadow
	for _, c := range changes {
		e, err := b.decode(text, c)
		if err != nil {
			b.version = version
			return Result{}, err
		}
		locals = append(locals, e)
		text = replaceOp(utf8.RuneCountInString(text), e.pos, e.del, e.ins).apply(text)
		texts = append(texts, text)
	}
	b.version = version

	// A whole-didChange echo: the editor applied our edit, perhaps
	// reporting it differently (VS Code minimises edits).
	if b.flight != nil && text == b.flight.target {
		b.shadow = text
		b.flight = nil
		return b.finish(res), nil
	}
	for i, e := range locals {
		n := utf8.RuneCountInString(b.shadow)
		if b.flight != nil {
			if b.flight.consume(b.shadow, e) {
				b.shadow = texts[i]
				if len(b.flight.parts) == 0 {
					b.flight = nil
				}
				continue
			}
			// The person typed before our edit arrived: the editor drops
			// it (its version moved on). What it carried is queued again.
			b.requeueFlight()
		}
		local := replaceOp(n, e.pos, e.del, e.ins)
		if b.readOnly {
			// Revert: the editor must go back from its new text to the Doc.
			b.queued = compose(local.invert(b.shadow), b.queued)
			res.Refused = true
		} else {
			lp, qp := transform(local, b.queued)
			if err := b.applyToDoc(lp, &res); err != nil {
				return res, err
			}
			b.queued = qp
		}
		b.shadow = texts[i]
	}
	return b.finish(res), nil
}

func (b *Buffer) finish(res Result) Result {
	res.Edit = b.send()
	return res
}

// RemoteApplied takes the text changes the Doc reported for updates from
// elsewhere (Doc.Apply, Undo, an edit by another buffer sharing the Doc),
// and returns the applyEdit that brings the editor up to date, or nil when
// one is already in flight (the changes follow when it resolves) or the
// editor has not opened the buffer.
func (b *Buffer) RemoteApplied(changes []crdt.Change) *Edit {
	if !b.open || len(changes) == 0 {
		return nil
	}
	n := b.queued.targetLen()
	for _, c := range changes {
		b.queued = compose(b.queued, replaceOp(n, c.Pos, c.Delete, c.Insert))
		n = n - c.Delete + utf8.RuneCountInString(c.Insert)
	}
	return b.send()
}

// Resync recovers from a change EditorChanged could not decode (the shadow
// no longer matches the editor): it returns an applyEdit that replaces the
// editor's whole buffer with the Doc's text. Until the editor has applied
// it, the editor's changes are ignored (and the replacement re-sent), so
// typing in that instant is lost rather than applied at a wrong place.
func (b *Buffer) Resync() *Edit {
	if !b.open {
		return nil
	}
	b.resyncing = true
	b.shadow = ""
	b.queued = nil
	return b.resyncEdit()
}

func (b *Buffer) resyncEdit() *Edit {
	target := b.doc.Text()
	b.nextID++
	b.flight = &flight{id: b.nextID, version: b.version, target: target}
	b.queued = identity(utf8.RuneCountInString(target))
	// An end past the last line means the end of the buffer (LSP clamps).
	end := protocol.Position{Line: 1 << 30}
	return &Edit{ID: b.nextID, Version: b.version, Edits: []protocol.TextEdit{{Range: protocol.Range{End: end}, NewText: target}}}
}

// resyncChanged handles a didChange while a resync is in flight. An echo
// reported as the whole new text (VS Code) ends the resync; editors that
// report the replacement as trimmed ranges (Neovim) end it with their
// answer (EditResult), since those ranges cannot be read without knowing
// the text they replaced. A change the person made first makes the editor
// refuse the replacement, which is then sent again.
func (b *Buffer) resyncChanged(version int32, changes []protocol.TextDocumentContentChangeEvent) Result {
	b.version = version
	f := b.flight
	if len(changes) == 1 && changes[0].Range == nil && f != nil && Normalize(changes[0].Text) == f.target {
		b.resyncing = false
		b.shadow = f.target
		b.flight = nil
		return b.finish(Result{})
	}
	return Result{}
}

// EditResult takes the editor's answer to the applyEdit with id. Applied is
// not trusted for ordinary edits (Neovim's own handler answers true for
// edits it dropped; echoes decide); a refusal of the edit still in flight
// means it will never be echoed, so its changes are queued again and sent
// with the next event or Flush. For a resync, whose echo cannot be read,
// the answer decides: applied means the editor holds the Doc's text.
func (b *Buffer) EditResult(id uint64, applied bool) {
	if b.flight == nil || b.flight.id != id {
		return
	}
	if b.resyncing {
		if applied {
			b.resyncing = false
			b.shadow = b.flight.target
		}
		b.flight = nil // refused: Flush sends the replacement again
		return
	}
	if !applied {
		b.requeueFlight()
	}
}

// EditSettled tells the Buffer that the editor answered the applyEdit with
// id as applied a while ago (SettleDelay), so every didChange it sent
// before that answer has arrived. Any part of the edit still not echoed
// was never applied: the editor dropped the edit (Neovim's own handler
// answers applied:true for a stale one), or what looked like the echo of
// a part was the person typing the same text at the same place. Those
// parts are queued again, and the returned applyEdit, if any, must be
// sent. Without this, they would wait for the person's next keystroke.
func (b *Buffer) EditSettled(id uint64) *Edit {
	if b.flight == nil || b.flight.id != id || b.resyncing {
		return nil
	}
	b.requeueFlight()
	return b.send()
}

// SettleDelay is how long after an applied answer owners call
// EditSettled: far longer than an echo takes to arrive, far shorter than
// a person notices.
const SettleDelay = 200 * time.Millisecond

// Flush returns an applyEdit for whatever the editor still lacks when none
// is in flight; owners call it after a refused edit, on a timer.
func (b *Buffer) Flush() *Edit {
	if b.resyncing {
		if b.flight == nil {
			return b.resyncEdit()
		}
		return nil
	}
	return b.send()
}

// requeueFlight gives up on the in-flight edit: what it has not delivered
// goes back in front of the queue.
func (b *Buffer) requeueFlight() {
	f := b.flight
	b.flight = nil
	b.queued = compose(fromEdits(utf8.RuneCountInString(b.shadow), f.parts), b.queued)
}

// send puts the queued changes in flight if nothing is.
func (b *Buffer) send() *Edit {
	if !b.open || b.flight != nil || b.queued.noop() {
		return nil
	}
	parts := keepFinalNewline(b.shadow, b.queued.edits())
	offs := make([]int, 0, 2*len(parts))
	for _, p := range parts {
		offs = append(offs, p.pos, p.pos+p.del)
	}
	pos := positions(b.shadow, offs, b.unit)
	edits := make([]protocol.TextEdit, len(parts))
	for i, p := range parts {
		edits[i] = protocol.TextEdit{Range: protocol.Range{Start: pos[2*i], End: pos[2*i+1]}, NewText: p.ins}
	}
	b.nextID++
	target := b.queued.apply(b.shadow)
	b.flight = &flight{id: b.nextID, version: b.version, target: target, parts: parts}
	b.queued = identity(b.queued.targetLen())
	return &Edit{ID: b.nextID, Version: b.version, Edits: edits}
}

// keepFinalNewline rewrites parts that reach past the final newline of text
// into equivalent ones that stop before it, when the text keeps ending with
// a newline. Neovim holds that newline as the 'eol' option, not as buffer
// text, and mangles edits beyond it (0.7 adds a line and then removes one,
// in two didChanges); an insertion of "b\n" after "a\n" is the same as an
// insertion of "\nb" before its newline.
func keepFinalNewline(text string, parts []edit) []edit {
	if len(parts) == 0 || !strings.HasSuffix(text, "\n") {
		return parts
	}
	n := utf8.RuneCountInString(text)
	last := &parts[len(parts)-1]
	if last.pos+last.del != n || !strings.HasSuffix(last.ins, "\n") {
		return parts
	}
	if last.del > 0 {
		// Deleting through the final newline and inserting text that
		// ends with one: keep the newline instead.
		last.del--
		last.ins = last.ins[:len(last.ins)-1]
		if last.del == 0 && last.ins == "" {
			parts = parts[:len(parts)-1]
		}
		return parts
	}
	last.pos--
	last.ins = "\n" + last.ins[:len(last.ins)-1]
	if len(parts) > 1 {
		if prev := &parts[len(parts)-2]; prev.pos+prev.del == last.pos {
			prev.ins += last.ins
			parts = parts[:len(parts)-1]
		}
	}
	return parts
}

// consume reports whether e, a change to shadow, does what one of the parts
// not yet echoed does, and if so removes that part and shifts the parts
// after it. Editors that apply a multi-edit applyEdit one edit at a time
// (Neovim, bottom-up) report each part in its own didChange, and not always
// in the form it was sent (Neovim reports lines: a part inserting a line
// may come back as a replacement of the line after it), so parts are
// matched by their effect on the text, not by their shape.
func (f *flight) consume(shadow string, e edit) bool {
	for i, p := range f.parts {
		if sameEffect(shadow, p, e) {
			d := utf8.RuneCountInString(p.ins) - p.del
			f.parts = append(f.parts[:i], f.parts[i+1:]...)
			for j := i; j < len(f.parts); j++ {
				f.parts[j].pos += d
			}
			return true
		}
	}
	return false
}

// decode converts one content change against text into code points.
func (b *Buffer) decode(text string, c protocol.TextDocumentContentChangeEvent) (edit, error) {
	ins := Normalize(c.Text)
	if !utf8.ValidString(ins) {
		return edit{}, fmt.Errorf("didChange: %w", crdt.ErrInvalidText)
	}
	if c.Range == nil {
		// Full-text sync: the smallest replacement that explains it.
		return trimEdit(text, ins), nil
	}
	start, err := Offset(text, c.Range.Start, b.unit)
	if err != nil {
		return edit{}, fmt.Errorf("didChange range start: %w", err)
	}
	end, err := Offset(text, c.Range.End, b.unit)
	if err != nil {
		return edit{}, fmt.Errorf("didChange range end: %w", err)
	}
	if end < start {
		start, end = end, start
	}
	// Editors report lines, not keystrokes (Neovim sends a new line typed
	// at the start of a line as a replacement of that line): keep only what
	// changed, or a concurrent edit of the kept text would see it deleted
	// and inserted again, and the merge would rightly keep both copies.
	i := advance(text, 0, start)
	j := advance(text, i, end-start)
	t := trimEdit(text[i:j], ins)
	return alignLines(text, edit{pos: start + t.pos, del: t.del, ins: t.ins}), nil
}

// slideWindow bounds how far alignLines looks either side of an edit.
const slideWindow = 1024

// alignLines moves a pure insertion or deletion of whole lines to where
// the person most likely made it. Editors report a change by its common
// prefix with the old text (Neovim: a line "// b" inserted above "// a"
// comes as "b\n// " inserted after the first "// "), and the text itself
// does not say which of the equivalent places was meant; but which one
// enters the CRDT decides whose characters are whose, so what undo takes
// back and where a concurrent edit lands. Among the equivalent places, the
// leftmost one that starts a line and ends with a newline wins; when none
// does, the edit is left as reported.
func alignLines(text string, e edit) edit {
	if (e.del == 0) == (e.ins == "") {
		return e // a replacement, or nothing
	}
	if e.ins != "" && !strings.Contains(e.ins, "\n") {
		return e
	}
	lo := max(e.pos-slideWindow, 0)
	i := advance(text, 0, lo)
	j := advance(text, i, e.pos-lo+e.del+slideWindow)
	w := []rune(text[i:j]) // the text around the edit
	p := e.pos - lo        // the edit's place in w
	var block []rune       // the inserted or deleted text
	if e.del > 0 {
		block = w[p : p+e.del]
		if !slices.Contains(block, '\n') {
			return e
		}
	} else {
		block = []rune(e.ins)
	}
	n := len(block)
	// at reports whether the block placed at q (equivalent to p) starts a
	// line and ends with a newline. For a deletion the block at q is
	// w[q:q+n]; for an insertion it is the rotation that keeps the text.
	var cand []rune
	at := func(q int) bool {
		switch {
		case q == 0 && lo > 0: // the character before is outside w
			return false
		case q > 0 && w[q-1] != '\n':
			return false
		}
		return cand[n-1] == '\n'
	}
	// Slide left as far as the text allows, then try every place going
	// right until the original one.
	left := 0
	if e.del > 0 {
		for left < p && w[p-left-1] == w[p+n-left-1] {
			left++
		}
	} else {
		for left < p && left < n && w[p-left-1] == block[n-1-left] {
			left++
		}
	}
	for q := p - left; q <= p; q++ {
		if e.del > 0 {
			cand = w[q : q+n]
		} else {
			// The insertion at q: what the text holds between q and p,
			// then the block without its last p-q characters.
			k := p - q
			cand = append(append(cand[:0:0], w[q:p]...), block[:n-k]...)
		}
		if at(q) {
			if e.del > 0 {
				return edit{pos: lo + q, del: n}
			}
			return edit{pos: lo + q, ins: string(cand)}
		}
	}
	return e
}

// sameEffect reports whether edits a and b, both on text, produce the same
// text: only the span they touch between them is compared.
func sameEffect(text string, a, b edit) bool {
	if a.pos == b.pos && a.del == b.del && a.ins == b.ins {
		return true
	}
	if utf8.RuneCountInString(a.ins)-a.del != utf8.RuneCountInString(b.ins)-b.del {
		return false
	}
	lo := min(a.pos, b.pos)
	hi := max(a.pos+a.del, b.pos+b.del)
	i := advance(text, 0, lo)
	j := advance(text, i, hi-lo)
	w := text[i:j]
	in := func(e edit) string {
		s := advance(w, 0, e.pos-lo)
		t := advance(w, s, e.del)
		return w[:s] + e.ins + w[t:]
	}
	return in(a) == in(b)
}

// applyToDoc applies o (relative to the Doc's text) to the Doc as the
// buffer's author, one update per contiguous replacement.
func (b *Buffer) applyToDoc(o op, res *Result) error {
	pos := 0
	for _, e := range o.edits() {
		// e.pos is relative to the Doc before o; earlier edits shifted it.
		p := e.pos + pos
		u, err := b.doc.Replace(b.author, p, e.del, e.ins)
		if err != nil {
			return fmt.Errorf("apply editor change to document: %w", err)
		}
		if u != nil {
			res.Updates = append(res.Updates, u)
		}
		res.Changes = append(res.Changes, crdt.Change{Pos: p, Delete: e.del, Insert: e.ins})
		pos += utf8.RuneCountInString(e.ins) - e.del
	}
	return nil
}

// trimEdit is the single replacement turning a into b: everything between
// their common prefix and common suffix, cut at character boundaries.
func trimEdit(a, b string) edit {
	p := 0 // bytes
	for p < len(a) && p < len(b) && a[p] == b[p] {
		p++
	}
	for p > 0 && (p < len(a) && !utf8.RuneStart(a[p]) || p < len(b) && !utf8.RuneStart(b[p])) {
		p--
	}
	s := 0
	for s < len(a)-p && s < len(b)-p && a[len(a)-1-s] == b[len(b)-1-s] {
		s++
	}
	for s > 0 && (!utf8.RuneStart(a[len(a)-s]) || !utf8.RuneStart(b[len(b)-s])) {
		s--
	}
	return edit{
		pos: utf8.RuneCountInString(a[:p]),
		del: utf8.RuneCountInString(a[p : len(a)-s]),
		ins: b[p : len(b)-s],
	}
}
