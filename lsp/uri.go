package lsp

import (
	"encoding/json"
	"path/filepath"
	"strings"

	lsp "go.lsp.dev/protocol"
	"go.lsp.dev/uri"

	"github.com/rubberduckhub/rubberduck/lsp/protocol"
)

// pathMap maps the editor's file:// URIs under the project folder to
// project paths and back. Files outside the folder are not shared.
type pathMap struct {
	root    string // absolute, cleaned
	project string
}

// rootFromInit picks the project folder: --root wins, then the first
// workspace folder, then rootUri, then rootPath.
func rootFromInit(override string, p *lsp.InitializeParams) string {
	if override != "" {
		if abs, err := filepath.Abs(override); err == nil {
			return abs
		}
		return override
	}
	if len(p.WorkspaceFolders) > 0 && p.WorkspaceFolders[0].URI != "" {
		return uri.URI(p.WorkspaceFolders[0].URI).Filename()
	}
	//lint:ignore SA1019 older editors (Neovim 0.7 without workspace folders) send only rootUri/rootPath
	if p.RootURI != "" {
		return uri.URI(p.RootURI).Filename() //lint:ignore SA1019 see above
	}
	return p.RootPath //lint:ignore SA1019 see above
}

// toPath returns the project path of an editor URI, or ok=false when the
// URI is not a file under the project folder.
func (m pathMap) toPath(u lsp.DocumentURI) (string, bool) {
	if m.root == "" || !strings.HasPrefix(string(u), "file://") {
		return "", false
	}
	fn := filepath.Clean(uri.URI(u).Filename())
	rel, err := filepath.Rel(m.root, fn)
	if err != nil || rel == "." || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
		return "", false
	}
	return filepath.ToSlash(rel), true
}

// toURI returns the editor URI of a project path.
func (m pathMap) toURI(path string) lsp.DocumentURI {
	return lsp.DocumentURI(uri.File(filepath.Join(m.root, filepath.FromSlash(path))))
}

// hubURI is the hub's name of a project path: rubberduck://<project>/<path>.
func (m pathMap) hubURI(path string) string {
	return protocol.URIScheme + "://" + m.project + "/" + path
}

// rewrite walks a JSON value and replaces every string that is an editor
// URI under the project with the hub's URI (toHub) or the reverse, so that
// requests the proxy forwards (completion, hover, ...) name documents the
// way the receiver does.
func (m pathMap) rewrite(raw json.RawMessage, toHub bool) json.RawMessage {
	if len(raw) == 0 {
		return raw
	}
	var v any
	if err := json.Unmarshal(raw, &v); err != nil {
		return raw
	}
	v = m.walk(v, toHub)
	out, err := json.Marshal(v)
	if err != nil {
		return raw
	}
	return out
}

func (m pathMap) walk(v any, toHub bool) any {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			x[k] = m.walk(e, toHub)
		}
		return x
	case []any:
		for i, e := range x {
			x[i] = m.walk(e, toHub)
		}
		return x
	case string:
		if toHub {
			if p, ok := m.toPath(lsp.DocumentURI(x)); ok {
				return m.hubURI(p)
			}
			return x
		}
		prefix := protocol.URIScheme + "://" + m.project + "/"
		if strings.HasPrefix(x, prefix) {
			return string(m.toURI(strings.TrimPrefix(x, prefix)))
		}
		return x
	}
	return v
}
