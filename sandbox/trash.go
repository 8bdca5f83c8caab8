//go:build linux || darwin || freebsd

package sandbox

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"os"
	"path"
	"sort"
	"time"

	"golang.org/x/sys/unix"
)

const (
	trashItem = "item"
	trashMeta = "meta.json"
)

// Delete removes p. With a trash directory configured (Options.TrashDir)
// the entry is moved there — outside the project, so clients cannot reach
// it except through Restore — and the returned TrashEntry says how to get
// it back; otherwise it is removed for good and the TrashEntry has no ID.
// A symlink is deleted as a link, never followed.
func (r *Root) Delete(ctx context.Context, p string) (TrashEntry, error) {
	s, err := r.begin(ctx, "delete", p, true)
	if err != nil {
		return TrashEntry{}, s.end(err)
	}
	te, err := r.delete(s, p)
	return te, s.end(err)
}

func (r *Root) delete(s *opState, p string) (TrashEntry, error) {
	rel, err := s.clean(p)
	if err != nil {
		return TrashEntry{}, err
	}
	if rel == "." {
		return TrashEntry{}, newErr(InvalidArgument, s.name, rel, "cannot delete the project root")
	}
	t, err := r.walk(s.name, rel, walkMode{})
	if err != nil {
		return TrashEntry{}, err
	}
	defer t.close()
	if !t.exists {
		return TrashEntry{}, newErr(NotFound, s.name, rel, "")
	}
	kind := kindOf(uint32(t.st.Mode))
	for _, q := range []string{rel, t.rel} {
		if why := s.pol.writeDenied(q, kind == KindDir); why != "" {
			return TrashEntry{}, newErr(Denied, s.name, rel, why)
		}
	}
	te := TrashEntry{Path: t.rel, Kind: kind, Size: t.st.Size, DeletedAt: time.Now().UTC(), DeletedBy: ActorFrom(s.ctx)}
	if kind != KindFile {
		te.Size = 0
	}
	if r.trash == nil {
		if kind == KindDir {
			err = r.root.RemoveAll(t.rel)
		} else {
			err = unix.Unlinkat(t.dirfd, t.base, 0)
		}
		if err != nil {
			return TrashEntry{}, err
		}
	} else {
		te.ID = newTrashID(te.DeletedAt)
		if err := unix.Mkdirat(r.trashfd, te.ID, 0o700); err != nil {
			return TrashEntry{}, err
		}
		meta, _ := json.Marshal(te)
		if err := r.trash.WriteFile(te.ID+"/"+trashMeta, meta, 0o600); err != nil {
			r.trash.RemoveAll(te.ID)
			return TrashEntry{}, err
		}
		edir, err := r.trash.Open(te.ID)
		if err != nil {
			r.trash.RemoveAll(te.ID)
			return TrashEntry{}, err
		}
		err = unix.Renameat(t.dirfd, t.base, int(edir.Fd()), trashItem)
		if err == unix.EXDEV {
			// The trash is on another file system: copy, then remove.
			err = copyTree(s.ctx, t.dirfd, t.base, int(edir.Fd()), trashItem)
			if err == nil {
				if kind == KindDir {
					err = r.root.RemoveAll(t.rel)
				} else {
					err = unix.Unlinkat(t.dirfd, t.base, 0)
				}
			}
		}
		edir.Close()
		if err != nil {
			r.trash.RemoveAll(te.ID)
			return TrashEntry{}, err
		}
	}
	if !r.opts.NoSync {
		unix.Fsync(t.dirfd)
	}
	if r.opts.Cache != nil {
		r.opts.Cache.Invalidate(t.rel)
	}
	if r.opts.Observer != nil {
		r.opts.Observer.Removed(t.rel)
	}
	return te, nil
}

func newTrashID(t time.Time) string {
	var rnd [6]byte
	rand.Read(rnd[:])
	return t.Format("20060102T150405Z") + "-" + hex.EncodeToString(rnd[:])
}

func validTrashID(id string) bool {
	if len(id) == 0 || len(id) > 64 {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '-') {
			return false
		}
	}
	return true
}

// ListTrash returns the trash entries, newest first.
func (r *Root) ListTrash(ctx context.Context) ([]TrashEntry, error) {
	s, err := r.begin(ctx, "trash", "", false)
	if err != nil {
		return nil, s.end(err)
	}
	out, err := r.listTrash(s)
	return out, s.end(err)
}

func (r *Root) listTrash(s *opState) ([]TrashEntry, error) {
	if r.trash == nil {
		return []TrashEntry{}, nil
	}
	f, err := r.trash.Open(".")
	if err != nil {
		return nil, err
	}
	names, err := f.Readdirnames(-1)
	f.Close()
	if err != nil {
		return nil, err
	}
	out := make([]TrashEntry, 0, len(names))
	for _, id := range names {
		if err := s.ctx.Err(); err != nil {
			return nil, err
		}
		te, ok := r.readTrashMeta(id)
		if ok {
			out = append(out, te)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID > out[j].ID })
	return out, nil
}

func (r *Root) readTrashMeta(id string) (TrashEntry, bool) {
	if !validTrashID(id) {
		return TrashEntry{}, false
	}
	b, err := r.trash.ReadFile(id + "/" + trashMeta)
	if err != nil || len(b) > 1<<16 {
		return TrashEntry{}, false
	}
	var te TrashEntry
	if json.Unmarshal(b, &te) != nil || te.ID != id {
		return TrashEntry{}, false
	}
	return te, true
}

// Restore moves the trash entry id back to its original path, or to to when
// not empty, creating missing parent directories. It fails with Exists when
// something is already there.
func (r *Root) Restore(ctx context.Context, id, to string) (TrashEntry, error) {
	s, err := r.begin(ctx, "restore", id, true)
	if err != nil {
		return TrashEntry{}, s.end(err)
	}
	s.to = to
	te, err := r.restore(s, id, to)
	return te, s.end(err)
}

func (r *Root) restore(s *opState, id, to string) (TrashEntry, error) {
	if r.trash == nil {
		return TrashEntry{}, newErr(Unsupported, s.name, "", "this project has no trash")
	}
	te, ok := r.readTrashMeta(id)
	if !ok {
		return TrashEntry{}, newErr(NotFound, s.name, "", "no such trash entry")
	}
	if to == "" {
		to = te.Path
	}
	rel, err := CleanPath(to)
	if err != nil || rel == "." {
		return TrashEntry{}, newErr(InvalidPath, s.name, "", "bad restore path")
	}
	s.to = rel
	isDir := te.Kind == KindDir
	if why := s.pol.writeDenied(rel, isDir); why != "" {
		return TrashEntry{}, newErr(Denied, s.name, rel, why)
	}
	mayCreate := func(dir string) string { return s.pol.writeDenied(dir, true) }
	t, err := r.walk(s.name, rel, walkMode{mkdirs: true, mayCreate: mayCreate})
	if err != nil {
		return TrashEntry{}, err
	}
	defer t.close()
	if why := s.pol.writeDenied(t.rel, isDir); why != "" {
		return TrashEntry{}, newErr(Denied, s.name, rel, why)
	}
	if t.exists {
		return TrashEntry{}, newErr(Exists, s.name, rel, "")
	}
	edir, err := r.trash.Open(id)
	if err != nil {
		return TrashEntry{}, err
	}
	err = renameNoReplace(int(edir.Fd()), trashItem, t.dirfd, t.base)
	if err == unix.EXDEV {
		err = r.copyIn(s.ctx, int(edir.Fd()), t)
	}
	edir.Close()
	if err != nil {
		if err == unix.EEXIST || err == unix.ENOTEMPTY {
			return TrashEntry{}, newErr(Exists, s.name, rel, "")
		}
		return TrashEntry{}, err
	}
	r.trash.RemoveAll(id)
	if !r.opts.NoSync {
		unix.Fsync(t.dirfd)
	}
	if r.opts.Observer != nil {
		if f, err := openAt(t.dirfd, t.base, os.O_RDONLY, t.rel); err == nil {
			r.opts.Observer.Wrote(t.rel, fileInfoOf(f))
			f.Close()
		}
	}
	te.Path = rel
	return te, nil
}

// Purge deletes the trash entry id for good; id "" empties the whole trash.
func (r *Root) Purge(ctx context.Context, id string) error {
	s, err := r.begin(ctx, "purge", id, true)
	if err != nil {
		return s.end(err)
	}
	return s.end(r.purge(s, id))
}

func (r *Root) purge(s *opState, id string) error {
	if r.trash == nil {
		return nil
	}
	if id != "" {
		if !validTrashID(id) {
			return newErr(NotFound, s.name, "", "no such trash entry")
		}
		if _, err := r.trash.Lstat(id); err != nil {
			return newErr(NotFound, s.name, "", "no such trash entry")
		}
		return r.trash.RemoveAll(id)
	}
	f, err := r.trash.Open(".")
	if err != nil {
		return err
	}
	names, err := f.Readdirnames(-1)
	f.Close()
	if err != nil {
		return err
	}
	for _, n := range names {
		if err := s.ctx.Err(); err != nil {
			return err
		}
		if err := r.trash.RemoveAll(n); err != nil {
			return err
		}
	}
	return nil
}

// copyIn restores a trash entry across file systems: it copies the item to
// a temporary name beside the target, then renames it into place without
// replacing, so the restored tree appears at once or not at all.
func (r *Root) copyIn(ctx context.Context, entryDir int, t *target) error {
	var rnd [8]byte
	rand.Read(rnd[:])
	tmp := tempPrefix + hex.EncodeToString(rnd[:])
	tmpRel := joinRel(splitRel(path.Dir(t.rel)), tmp)
	err := copyTree(ctx, entryDir, trashItem, t.dirfd, tmp)
	if err == nil {
		err = renameNoReplace(t.dirfd, tmp, t.dirfd, t.base)
	}
	if err != nil {
		r.root.RemoveAll(tmpRel)
	}
	return err
}
