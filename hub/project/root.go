package project

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// forbiddenRoots are system directories that may never be a project root
// themselves; serving them would hand collaborators the machine.
var forbiddenRoots = []string{"/", "/bin", "/boot", "/etc", "/lib", "/lib64", "/opt", "/root", "/sbin", "/usr", "/var", "/home", "/tmp", "/srv", "/mnt", "/media"}

// forbiddenTrees are pseudo filesystems no project may live in at all.
var forbiddenTrees = []string{"/proc", "/sys", "/dev"}

// checkRoot resolves root and refuses it unless it is an existing directory
// that overlaps neither the data directory nor any of others. It returns the
// resolved path to store. Error messages name the root the caller supplied
// (never another project's root) so they are safe to return to the caller.
func checkRoot(root, dataDir string, others []Project) (string, error) {
	if root == "" || !filepath.IsAbs(root) {
		return "", fmt.Errorf("root %q: must be an absolute path: %w", root, ErrInvalid)
	}
	resolved, err := filepath.EvalSymlinks(filepath.Clean(root))
	if err != nil {
		return "", fmt.Errorf("root %q: does not exist or cannot be resolved: %w", root, ErrInvalid)
	}
	resolved, err = filepath.Abs(resolved)
	if err != nil {
		return "", fmt.Errorf("root %q: %w", root, ErrInvalid)
	}
	fi, err := os.Stat(resolved)
	if err != nil {
		return "", fmt.Errorf("root %q: cannot stat: %w", root, ErrInvalid)
	}
	if !fi.IsDir() {
		return "", fmt.Errorf("root %q: is not a directory: %w", root, ErrInvalid)
	}
	for _, f := range forbiddenRoots {
		if resolved == f {
			return "", fmt.Errorf("root %q: a system directory cannot be a project: %w", root, ErrInvalid)
		}
	}
	for _, f := range forbiddenTrees {
		if within(f, resolved) {
			return "", fmt.Errorf("root %q: a system directory cannot be a project: %w", root, ErrInvalid)
		}
	}
	if dataDir != "" {
		d := resolveLoose(dataDir)
		if within(d, resolved) || within(resolved, d) {
			return "", fmt.Errorf("root %q: overlaps the hub's data directory: %w", root, ErrInvalid)
		}
	}
	for _, o := range others {
		r := resolveLoose(o.Root)
		if within(r, resolved) || within(resolved, r) {
			return "", fmt.Errorf("root %q: overlaps project %q: %w", root, o.Name, ErrInvalid)
		}
	}
	return resolved, nil
}

// resolveLoose resolves symlinks in p when it exists and otherwise returns it
// cleaned and absolute: a data directory or an old project root that is gone
// still occupies its place.
func resolveLoose(p string) string {
	if r, err := filepath.EvalSymlinks(p); err == nil {
		p = r
	}
	if a, err := filepath.Abs(p); err == nil {
		p = a
	}
	return filepath.Clean(p)
}

// within reports whether path equals dir or lies inside it. Both must be
// clean absolute paths. filepath.Rel makes /srv/p10 not inside /srv/p1, which
// a string prefix test would get wrong.
func within(dir, path string) bool {
	rel, err := filepath.Rel(dir, path)
	if err != nil {
		return false
	}
	return rel == "." || (rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator)) && !filepath.IsAbs(rel))
}
