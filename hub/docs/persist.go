package docs

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/rubberduckhub/rubberduck/hub/crdt"
	"github.com/rubberduckhub/rubberduck/hub/store"
	"github.com/rubberduckhub/rubberduck/lsp/protocol"
	lsync "github.com/rubberduckhub/rubberduck/lsp/sync"
	"github.com/rubberduckhub/rubberduck/sandbox"
)

// Store layout, per document, under "doc/<project>\x00<path>\x00" (NUL
// cannot occur in a project name or a sandbox path, so prefixes never
// collide):
//
//	s          snapshot: 8-byte big-endian sequence of the first update it
//	           does not cover, then crdt.Doc.EncodeState
//	b          the file's text on disk as last read or written by the hub
//	l<seq>     one update, 8-byte big-endian sequence (key order = log order)
const (
	keySnap = "s"
	keyBase = "b"
	keyLog  = "l"
)

func prefix(ref protocol.DocRef) []byte {
	return []byte("doc/" + ref.Project + "\x00" + ref.Path + "\x00")
}

func key(ref protocol.DocRef, kind string) []byte {
	return append(prefix(ref), kind...)
}

func logKey(ref protocol.DocRef, seq uint64) []byte {
	return binary.BigEndian.AppendUint64(key(ref, keyLog), seq)
}

// load fills d from the store, or from the file the first time, and brings
// in any change made on disk while the document was closed.
func (m *Manager) load(ctx context.Context, d *document) error {
	st := m.opts.Store
	snap, err := st.Get(ctx, key(d.ref, keySnap))
	stored := err == nil
	switch {
	case errors.Is(err, store.ErrNotFound):
		d.doc = crdt.New(crdt.NewReplicaID())
	case err != nil:
		return fmt.Errorf("load document: %w", err)
	case len(snap) < 8:
		return fmt.Errorf("load document: snapshot too short")
	default:
		d.snapSeq = binary.BigEndian.Uint64(snap)
		if d.doc, err = crdt.Load(crdt.NewReplicaID(), snap[8:]); err != nil {
			return fmt.Errorf("load document snapshot: %w", err)
		}
	}
	d.nextSeq = d.snapSeq
	lp := key(d.ref, keyLog)
	err = st.Scan(ctx, lp, func(k, v []byte) (bool, error) {
		if len(k) != len(lp)+8 {
			return true, nil
		}
		seq := binary.BigEndian.Uint64(k[len(lp):])
		if seq < d.snapSeq {
			return true, nil // compacted but not yet deleted
		}
		if _, err := d.doc.Apply(v); err != nil {
			return false, fmt.Errorf("replay update %d: %w", seq, err)
		}
		stored = true
		d.nextSeq = seq + 1
		return true, nil
	})
	if err != nil {
		return fmt.Errorf("load document: %w", err)
	}
	if base, err := st.Get(ctx, key(d.ref, keyBase)); err == nil {
		d.base = string(base)
	} else if !errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("load document: %w", err)
	}

	files, err := m.opts.Files(ctx, d.ref.Project)
	if err != nil {
		return err
	}
	f, err := files.Read(ctx, d.ref.Path)
	switch {
	case sandbox.CodeOf(err) == sandbox.NotFound:
		return nil // a new file, created on first save
	case err != nil:
		return err
	}
	if !isText(f.Data) {
		return ErrBinary
	}
	d.crlf = strings.Contains(string(f.Data), "\r\n")
	if !stored {
		// First open ever: the file is the document.
		text := lsync.Normalize(string(f.Data))
		u, err := d.doc.Insert(AuthorDisk, 0, text)
		if err != nil {
			return err
		}
		d.base = text
		if err := st.Put(ctx, key(d.ref, keyBase), []byte(text)); err != nil {
			return err
		}
		if u != nil {
			return m.append(ctx, d, [][]byte{u})
		}
		return nil
	}
	// The file may have changed while the document was closed.
	return m.applyDisk(ctx, d, f.Data)
}

// append logs updates in one batch and snapshots when the log is long.
func (m *Manager) append(ctx context.Context, d *document, updates [][]byte) error {
	err := m.opts.Store.Batch(ctx, func(b store.Batch) error {
		for i, u := range updates {
			if err := b.Put(logKey(d.ref, d.nextSeq+uint64(i)), u); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("log document update: %w", err)
	}
	d.nextSeq += uint64(len(updates))
	if d.nextSeq-d.snapSeq >= uint64(m.opts.SnapshotEvery) {
		if err := m.snapshot(ctx, d); err != nil {
			m.log.Warn("document snapshot failed", "project", d.ref.Project, "err", err)
		}
	}
	return nil
}

// snapshot writes the whole document and drops the log it covers, in one
// batch, so a crash leaves either the old snapshot and log or the new ones.
func (m *Manager) snapshot(ctx context.Context, d *document) error {
	if d.nextSeq == d.snapSeq && d.snapSeq > 0 {
		return nil // nothing new since the last snapshot
	}
	state := d.doc.EncodeState()
	val := binary.BigEndian.AppendUint64(make([]byte, 0, 8+len(state)), d.nextSeq)
	val = append(val, state...)
	err := m.opts.Store.Batch(ctx, func(b store.Batch) error {
		if err := b.Put(key(d.ref, keySnap), val); err != nil {
			return err
		}
		for seq := d.snapSeq; seq < d.nextSeq; seq++ {
			if err := b.Delete(logKey(d.ref, seq)); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("snapshot document: %w", err)
	}
	d.snapSeq = d.nextSeq
	m.met.snapshots.Inc()
	return nil
}

func marshal(m *protocol.Message) ([]byte, error) { return json.Marshal(m) }
