package index

import (
	"bufio"
	"bytes"
	"context"
	"path"
	"sort"
	"strings"
)

// Dependency is one edge of the import graph. To is a project path (a
// file, or a directory for a Go package) when the import resolves inside
// the project; otherwise External is set and To is the import as written.
type Dependency struct {
	From     string `json:"from"`
	To       string `json:"to"`
	Spec     string `json:"spec"`
	External bool   `json:"external,omitempty"`
	Line     uint32 `json:"line"`
}

// Dependencies returns the import graph of the project, or only the edges
// from and to one file (or directory) when rel is not "".
func (ix *Index) Dependencies(ctx context.Context, rel string) []Dependency {
	module := ix.goModule(ctx)
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	dirs := map[string]bool{}
	for p := range ix.files {
		for d := path.Dir(p); ; d = path.Dir(d) {
			if dirs[d] {
				break
			}
			dirs[d] = true
			if d == "." || d == "/" {
				break
			}
		}
	}
	rel = strings.TrimSuffix(rel, "/")
	var out []Dependency
	for p, f := range ix.files {
		for _, im := range f.Imports {
			to, ok := ix.resolveLocked(f, im.Spec, module, dirs)
			d := Dependency{From: p, To: to, Spec: im.Spec, External: !ok, Line: im.At.Line}
			if !ok {
				d.To = im.Spec
			}
			if rel == "" || d.From == rel || d.To == rel || path.Dir(d.From) == rel {
				out = append(out, d)
			}
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].From != out[j].From {
			return out[i].From < out[j].From
		}
		return out[i].Line < out[j].Line
	})
	return out
}

func (ix *Index) goModule(ctx context.Context) string {
	b, err := ix.src.ReadFile(ctx, "go.mod")
	if err != nil {
		return ""
	}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		if f := strings.Fields(sc.Text()); len(f) >= 2 && f[0] == "module" {
			return strings.Trim(f[1], "\"")
		}
	}
	return ""
}

func (ix *Index) exists(p string) bool { _, ok := ix.files[p]; return ok }

func (ix *Index) resolveLocked(f *File, spec, module string, dirs map[string]bool) (string, bool) {
	dir := path.Dir(f.Path)
	switch f.Lang {
	case Go:
		if module != "" && (spec == module || strings.HasPrefix(spec, module+"/")) {
			d := strings.TrimPrefix(strings.TrimPrefix(spec, module), "/")
			if d == "" {
				d = "."
			}
			return d, dirs[d]
		}
		return "", false
	case Python:
		lead := len(spec) - len(strings.TrimLeft(spec, "."))
		base := ""
		if lead > 0 {
			base = dir
			for i := 1; i < lead; i++ {
				base = path.Dir(base)
			}
		}
		rest := strings.ReplaceAll(spec[lead:], ".", "/")
		p := path.Join(base, rest)
		for _, c := range []string{p + ".py", p + ".pyi", path.Join(p, "__init__.py")} {
			if ix.exists(c) {
				return c, true
			}
		}
		if lead > 0 && rest == "" && ix.exists(path.Join(base, "__init__.py")) {
			return path.Join(base, "__init__.py"), true
		}
		return "", false
	case JavaScript, TypeScript, TSX:
		if !strings.HasPrefix(spec, ".") {
			return "", false
		}
		p := path.Join(dir, spec)
		for _, c := range []string{p, p + ".ts", p + ".tsx", p + ".js", p + ".jsx", p + ".mjs",
			path.Join(p, "index.ts"), path.Join(p, "index.tsx"), path.Join(p, "index.js")} {
			if ix.exists(c) {
				return c, true
			}
		}
		// import "./x.js" written for a TypeScript file x.ts
		if trimmed := strings.TrimSuffix(p, path.Ext(p)); trimmed != p {
			for _, c := range []string{trimmed + ".ts", trimmed + ".tsx"} {
				if ix.exists(c) {
					return c, true
				}
			}
		}
		return "", false
	case Rust:
		parts := strings.Split(spec, "::")
		var base string
		switch parts[0] {
		case "crate":
			base = "src"
			for d := dir; d != "." && d != "/"; d = path.Dir(d) {
				if path.Base(d) == "src" {
					base = d
					break
				}
			}
		case "super":
			base = path.Dir(dir)
		case "self":
			base = dir
		default:
			return "", false
		}
		parts = parts[1:]
		for n := len(parts); n > 0; n-- {
			p := path.Join(append([]string{base}, parts[:n]...)...)
			for _, c := range []string{p + ".rs", path.Join(p, "mod.rs")} {
				if ix.exists(c) {
					return c, true
				}
			}
		}
		return "", false
	case Markdown:
		spec, _, _ = strings.Cut(spec, "#")
		p := path.Join(dir, spec)
		if strings.HasPrefix(spec, "/") {
			p = path.Clean(strings.TrimPrefix(spec, "/"))
		}
		if ix.exists(p) || dirs[p] {
			return p, true
		}
		return "", false
	}
	return "", false
}
