//go:build linux || darwin || freebsd

package sandbox

import (
	"context"
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"
)

// AuditSymlinks scans the whole project (without following symlinks, and
// including .git and ignored paths) for links that escape the project,
// are absolute, dangle or loop, lead to another file system, and for
// directories that are mount points. The hub exposes it as
// `rubberduck project audit NAME`.
func (r *Root) AuditSymlinks(ctx context.Context) (*SymlinkReport, error) {
	s, err := r.begin(ctx, "audit-symlinks", "", false)
	if err != nil {
		return nil, s.end(err)
	}
	rep, err := r.auditSymlinks(s)
	return rep, s.end(err)
}

func (r *Root) auditSymlinks(s *opState) (*SymlinkReport, error) {
	rep := &SymlinkReport{Findings: []SymlinkFinding{}}
	add := func(f SymlinkFinding) {
		if len(rep.Findings) >= MaxAuditFindings {
			rep.Truncated = true
			return
		}
		rep.Findings = append(rep.Findings, f)
	}
	type pending struct {
		parent *os.File // open directory holding name; nil for the root
		name   string
		rel    string
	}
	// Each pending entry holds its parent open; a parent is closed when its
	// last pending child has been opened, so descriptors stay proportional
	// to the depth of the tree.
	refs := map[*os.File]int{}
	release := func(f *os.File) {
		if f == nil {
			return
		}
		if refs[f]--; refs[f] <= 0 {
			delete(refs, f)
			f.Close()
		}
	}
	defer func() {
		for f := range refs {
			f.Close()
		}
	}()
	stack := []pending{{nil, ".", "."}}
	for len(stack) > 0 {
		p := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if err := s.ctx.Err(); err != nil {
			return nil, err
		}
		pfd := r.dirfd
		if p.parent != nil {
			pfd = int(p.parent.Fd())
		}
		fd, err := unix.Openat(pfd, p.name, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
		release(p.parent)
		if err != nil {
			if p.parent == nil {
				return nil, err
			}
			continue
		}
		d := os.NewFile(uintptr(fd), p.rel)
		refs[d] = 1
		ents, _ := d.ReadDir(-1)
		dfd := int(d.Fd())
		for _, e := range ents {
			rep.Entries++
			name := e.Name()
			rel := joinRel(splitRel(p.rel), name)
			switch {
			case e.Type()&os.ModeSymlink != 0:
				rep.Symlinks++
				if f, bad := r.checkLink(dfd, name, p.rel, rel); bad {
					add(f)
				}
			case e.IsDir():
				var st unix.Stat_t
				if unix.Fstatat(dfd, name, &st, unix.AT_SYMLINK_NOFOLLOW) != nil {
					continue
				}
				if uint64(st.Dev) != r.dev { //nolint:unconvert
					add(SymlinkFinding{Path: rel, Problem: ProblemMountPoint})
					continue // do not scan other file systems
				}
				refs[d]++
				stack = append(stack, pending{d, name, rel})
			}
		}
		release(d)
	}
	return rep, nil
}

// checkLink classifies the symlink name in directory dfd (project path dir).
func (r *Root) checkLink(dfd int, name, dir, rel string) (SymlinkFinding, bool) {
	link, err := readlinkat(dfd, name)
	if err != nil {
		return SymlinkFinding{}, false
	}
	f := SymlinkFinding{Path: rel}
	if filepath.IsAbs(link) {
		if inside, err := filepath.Rel(r.absPath, link); err == nil && filepath.IsLocal(inside) {
			f.Problem = ProblemAbsolute
		} else {
			f.Problem = ProblemEscapes
		}
		return f, true
	}
	f.Target = link
	if _, ok := joinLink(splitRel(dir), link, nil); !ok {
		f.Problem = ProblemEscapes
		return f, true
	}
	fi, err := r.root.Stat(rel)
	if err != nil {
		switch e := mapErr("", "", err); {
		case e.Code == NotFound:
			f.Problem = ProblemDangling
		case e.Msg == "path leads outside the project":
			f.Problem = ProblemEscapes
		case isErrno(err, unix.ELOOP):
			f.Problem = ProblemLoop
		default:
			f.Problem = ProblemEscapes
		}
		return f, true
	}
	if st, ok := fi.Sys().(*unixStat); ok && uint64(st.Dev) != r.dev { //nolint:unconvert
		f.Problem = ProblemCrossesMount
		return f, true
	}
	return f, false
}
