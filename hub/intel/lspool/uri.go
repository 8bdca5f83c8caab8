package lspool

import (
	"bytes"
	"encoding/json"
	"net/url"
	"path"
	"path/filepath"
	"strings"
)

// uris maps between what clients see (rubberduck://<project>/<path>) and
// what a language server needs (file:///<root>/<path>). Servers only ever
// see files of the project's root; clients never see a server path.
type uris struct {
	project string
	root    string // absolute, symlinks resolved, slash-separated
}

// External is the URI prefix given to locations outside the project (a
// standard library, a dependency): the client learns the file's name but
// not where it lives on the hub.
const External = "rubberduck-external:///"

func (u uris) clientPrefix() string { return "rubberduck://" + u.project + "/" }

// FileURI turns a project-relative path into the server's file URI.
func (u uris) fileURI(rel string) string {
	return (&url.URL{Scheme: "file", Path: path.Join(u.root, rel)}).String()
}

// rel turns a server file URI into a project path; ok is false outside
// the root.
func (u uris) rel(fileURI string) (string, bool) {
	p, err := url.Parse(fileURI)
	if err != nil || p.Scheme != "file" {
		return "", false
	}
	r, err := filepath.Rel(filepath.FromSlash(u.root), filepath.FromSlash(p.Path))
	if err != nil || r == ".." || strings.HasPrefix(r, ".."+string(filepath.Separator)) || filepath.IsAbs(r) {
		return "", false
	}
	return filepath.ToSlash(r), true
}

// toServer rewrites client URIs in a JSON value into file URIs.
func (u uris) toServer(raw json.RawMessage) (json.RawMessage, error) {
	prefix := u.clientPrefix()
	if !bytes.Contains(raw, []byte(prefix)) {
		return raw, nil
	}
	return rewrite(raw, func(s string) string {
		if rel, ok := strings.CutPrefix(s, prefix); ok {
			if un, err := url.PathUnescape(rel); err == nil {
				rel = un
			}
			return u.fileURI(path.Clean("/" + rel)[1:])
		}
		return s
	})
}

// toClient rewrites file URIs in a JSON value into client URIs; files
// outside the root become External URIs with only their base name.
func (u uris) toClient(raw json.RawMessage) (json.RawMessage, error) {
	if !bytes.Contains(raw, []byte("file://")) {
		return raw, nil
	}
	return rewrite(raw, func(s string) string {
		if !strings.HasPrefix(s, "file://") {
			return s
		}
		if rel, ok := u.rel(s); ok {
			return u.clientPrefix() + rel
		}
		if p, err := url.Parse(s); err == nil {
			return External + path.Base(p.Path)
		}
		return External
	})
}

// rewrite applies f to every string (and object key) in a JSON value.
func rewrite(raw json.RawMessage, f func(string) string) (json.RawMessage, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	return json.Marshal(walk(v, f))
}

func walk(v any, f func(string) string) any {
	switch x := v.(type) {
	case string:
		return f(x)
	case []any:
		for i := range x {
			x[i] = walk(x[i], f)
		}
		return x
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, val := range x {
			out[f(k)] = walk(val, f)
		}
		return out
	}
	return v
}
