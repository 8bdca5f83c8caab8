package index

import (
	"bytes"
	"context"
	"fmt"
	"path"
	"strings"
	"sync"

	sitter "github.com/tree-sitter/go-tree-sitter"
)

// Document is an open file whose live text comes from the shared document
// rather than the disk. It keeps its syntax tree so that each edit is a
// tree.Edit plus an incremental reparse.
type Document struct {
	mu   sync.Mutex
	spec *spec
	path string
	src  []byte
	tree *sitter.Tree
	file *File
	// units are the file's top-level pieces, so an edit re-reads only
	// the pieces it touches.
	units []unit
}

func (d *Document) snapshot() (*File, []byte) {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.file, d.src
}

func (d *Document) close() {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.tree != nil {
		d.tree.Close()
		d.tree = nil
	}
}

// Edit replaces the bytes [Start, End) of the text before the edit with
// Text. Start and End are byte offsets; the documents layer, which counts
// in its own unit, converts once (or calls Sync with the whole text).
type Edit struct {
	Start, End int
	Text       string
}

// Open starts tracking a document with its live text. Opening an open
// document replaces its text.
func (ix *Index) Open(ctx context.Context, rel, text string) error {
	rel = path.Clean(rel)
	s := specFor(LangOf(rel))
	if s == nil {
		return nil // nothing to index; not an error for the documents layer
	}
	src := []byte(text)
	tree, err := parse(ctx, s, src, nil)
	if err != nil {
		return fmt.Errorf("parse %s: %w", rel, err)
	}
	d := &Document{spec: s, path: rel, src: src, tree: tree}
	d.file, d.units = extractUnits(s, rel, src, tree, nil)
	ix.mu.Lock()
	old := ix.docs[rel]
	ix.docs[rel] = d
	ix.replaceLocked(rel, d.file)
	ix.mu.Unlock()
	if old != nil {
		old.close()
	}
	return nil
}

// Sync brings an open document to text, re-parsing only the region that
// changed (found by comparing with the previous text). It opens the
// document if needed. This is the simplest feed for the documents layer:
// call it with the new text after each applied update.
func (ix *Index) Sync(ctx context.Context, rel, text string) error {
	rel = path.Clean(rel)
	ix.mu.RLock()
	d := ix.docs[rel]
	ix.mu.RUnlock()
	if d == nil {
		return ix.Open(ctx, rel, text)
	}
	d.mu.Lock()
	old := d.src
	d.mu.Unlock()
	e, same := diff(old, []byte(text))
	if same {
		return nil
	}
	return ix.Edit(ctx, rel, e)
}

// diff finds the one edit that turns a into b: the common prefix and
// suffix stay, the middle is replaced.
func diff(a, b []byte) (Edit, bool) {
	if bytes.Equal(a, b) {
		return Edit{}, true
	}
	n := min(len(a), len(b))
	p := 0
	for p < n && a[p] == b[p] {
		p++
	}
	q := 0
	for q < n-p && a[len(a)-1-q] == b[len(b)-1-q] {
		q++
	}
	return Edit{Start: p, End: len(a) - q, Text: string(b[p : len(b)-q])}, false
}

// Edit applies edits in order (each in the coordinates of the text left by
// the previous one, as LSP's didChange does) and re-parses incrementally.
func (ix *Index) Edit(ctx context.Context, rel string, edits ...Edit) error {
	rel = path.Clean(rel)
	ix.mu.RLock()
	d := ix.docs[rel]
	ix.mu.RUnlock()
	if d == nil {
		return fmt.Errorf("edit %s: document is not open", rel)
	}
	d.mu.Lock()
	src := d.src
	var reuse func(*sitter.Node) *unit
	if len(edits) == 1 && d.units != nil {
		reuse = d.reuser(edits[0])
	}
	for _, e := range edits {
		if e.Start < 0 || e.End < e.Start || e.End > len(src) {
			d.mu.Unlock()
			return fmt.Errorf("edit %s: range %d-%d outside the text (%d bytes)", rel, e.Start, e.End, len(src))
		}
		next := make([]byte, 0, len(src)-(e.End-e.Start)+len(e.Text))
		next = append(next, src[:e.Start]...)
		next = append(next, e.Text...)
		next = append(next, src[e.End:]...)
		d.tree.Edit(&sitter.InputEdit{
			StartByte:      uint(e.Start),
			OldEndByte:     uint(e.End),
			NewEndByte:     uint(e.Start + len(e.Text)),
			StartPosition:  point(src, e.Start),
			OldEndPosition: point(src, e.End),
			NewEndPosition: point(next, e.Start+len(e.Text)),
		})
		src = next
	}
	tree, err := parse(ctx, d.spec, src, d.tree)
	if err != nil {
		d.mu.Unlock()
		return fmt.Errorf("reparse %s: %w", rel, err)
	}
	d.tree.Close()
	d.tree = tree
	d.src = src
	d.file, d.units = extractUnits(d.spec, rel, src, tree, reuse)
	f := d.file
	d.mu.Unlock()

	ix.mu.Lock()
	if ix.docs[rel] == d {
		ix.replaceLocked(rel, f)
	}
	ix.mu.Unlock()
	return nil
}

// reuser returns which top-level units survive edit e unchanged (before
// it) or only moved (after it, starting on a later line), for units
// extraction to skip re-reading them. It is called with the text before e.
func (d *Document) reuser(e Edit) func(*sitter.Node) *unit {
	old := d.src
	byStart := make(map[uint]*unit, len(d.units))
	for i := range d.units {
		byStart[d.units[i].start] = &d.units[i]
	}
	delta := len(e.Text) - (e.End - e.Start)
	oldEndRow := point(old, e.End).Row
	newEndRow := uint(bytes.Count(old[:e.Start], []byte{'\n'}) + strings.Count(e.Text, "\n"))
	lines := int32(int(newEndRow) - int(oldEndRow))
	newEnd := e.Start + len(e.Text)
	return func(n *sitter.Node) *unit {
		cs, ce := n.StartByte(), n.EndByte()
		switch {
		case int(ce) < e.Start:
			if u := byStart[cs]; u != nil && u.end == ce && u.kind == n.KindId() {
				return u
			}
		case int(cs) > newEnd:
			oldStart := uint(int(cs) - delta)
			if u := byStart[oldStart]; u != nil && int(u.end) == int(ce)-delta && u.kind == n.KindId() && uint(u.line) > oldEndRow {
				return u.shifted(delta, lines)
			}
		}
		return nil
	}
}

// point converts a byte offset into tree-sitter's row and byte column.
func point(src []byte, off int) sitter.Point {
	row := bytes.Count(src[:off], []byte{'\n'})
	col := off - (bytes.LastIndexByte(src[:off], '\n') + 1)
	return sitter.Point{Row: uint(row), Column: uint(col)}
}

// CloseDoc stops tracking a document; the file goes back to what is on
// disk (read through Source).
func (ix *Index) CloseDoc(ctx context.Context, rel string) error {
	rel = path.Clean(rel)
	ix.mu.Lock()
	d := ix.docs[rel]
	delete(ix.docs, rel)
	ix.mu.Unlock()
	if d == nil {
		return nil
	}
	d.close()
	return ix.Update(ctx, []string{rel})
}

// Close releases every open document's syntax tree.
func (ix *Index) Close() {
	ix.mu.Lock()
	docs := ix.docs
	ix.docs = map[string]*Document{}
	ix.mu.Unlock()
	for _, d := range docs {
		d.close()
	}
}

// OpenDocs lists the paths of open documents.
func (ix *Index) OpenDocs() []string {
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	out := make([]string, 0, len(ix.docs))
	for p := range ix.docs {
		out = append(out, p)
	}
	return out
}
