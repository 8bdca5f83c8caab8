package intel

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"sync"

	"github.com/rubberduckhub/rubberduck/hub/intel/index"
)

// Source is the diagnostics source of the hub's own findings.
const Source = "rubberduck"

// LSP DiagnosticSeverity.
const (
	severityError   = 1
	severityWarning = 2
)

// Diagnostic is an LSP diagnostic (UTF-16 positions).
type Diagnostic struct {
	Range    diagRange `json:"range"`
	Severity int       `json:"severity"`
	Code     string    `json:"code,omitempty"`
	Source   string    `json:"source"`
	Message  string    `json:"message"`
}

type diagRange struct {
	Start lspPos `json:"start"`
	End   lspPos `json:"end"`
}

type lspPos struct {
	Line      uint32 `json:"line"`
	Character uint32 `json:"character"`
}

// diagnostics keeps, per file, the latest diagnostics of every source
// (each language server and the hub itself) and publishes their union to
// all participants whenever one source changes its list: editors replace
// a file's diagnostics wholesale, so each publication must carry all.
type diagnostics struct {
	p *Project

	mu        sync.Mutex
	bySource  map[string]map[string]json.RawMessage // path -> source -> JSON array
	secrets   map[string][]Diagnostic               // path -> last secret scan
	published map[string][]byte                     // path -> last publication
}

func newDiagnostics(p *Project) *diagnostics {
	return &diagnostics{p: p, bySource: map[string]map[string]json.RawMessage{},
		secrets: map[string][]Diagnostic{}, published: map[string][]byte{}}
}

// server records a language server's diagnostics for a file.
func (d *diagnostics) server(ctx context.Context, source, path string, diags json.RawMessage) {
	d.set(ctx, path, source, diags)
}

// own recomputes the hub's diagnostics of a file: complexity warnings
// from the index, and, when scan is set, the secret scan of src.
func (d *diagnostics) own(ctx context.Context, path string, src []byte, scan bool) {
	var out []Diagnostic
	f := d.p.Index.File(path)
	var l *lines
	if !isASCII(src) {
		l = newLines(src)
	}
	conv := func(p index.Pos) lspPos {
		if l == nil {
			return lspPos{p.Line, p.Col}
		}
		return lspPos{p.Line, fromByte(l.line(p.Line), p.Col, UTF16)}
	}
	if f != nil {
		out = append(out, complexityWarnings(f, d.p.svc.opts.Thresholds, conv)...)
	}
	d.mu.Lock()
	if scan && d.p.scan != nil {
		var found []Diagnostic
		for _, s := range d.p.scan.scan(ctx, path, src) {
			found = append(found, Diagnostic{
				Range:    diagRange{conv(index.Pos{Line: s.Line, Col: s.Start}), conv(index.Pos{Line: s.Line, Col: s.End})},
				Severity: severityError, Code: "secret/" + s.Rule, Source: Source,
				Message: fmt.Sprintf("Possible committed secret (%s): %s", s.Rule, s.Desc),
			})
		}
		if len(found) > 0 {
			d.secrets[path] = found
		} else {
			delete(d.secrets, path)
		}
	}
	out = append(out, d.secrets[path]...)
	d.mu.Unlock()
	if out == nil {
		out = []Diagnostic{}
	}
	raw, _ := json.Marshal(out)
	d.set(ctx, path, Source, raw)
}

func complexityWarnings(f *index.File, th Thresholds, conv func(index.Pos) lspPos) []Diagnostic {
	var out []Diagnostic
	for _, s := range f.Symbols {
		m := s.Metrics
		if m == nil {
			continue
		}
		var msg, code string
		switch {
		case m.Complexity > th.Complexity:
			msg, code = fmt.Sprintf("%s has a cyclomatic complexity of %d (over %d): consider splitting it", s.Name, m.Complexity, th.Complexity), "complexity"
		case m.Nesting > th.Nesting:
			msg, code = fmt.Sprintf("%s nests control flow %d deep (over %d)", s.Name, m.Nesting, th.Nesting), "nesting"
		case m.Lines > th.Lines:
			msg, code = fmt.Sprintf("%s is %d lines long (over %d)", s.Name, m.Lines, th.Lines), "length"
		default:
			continue
		}
		out = append(out, Diagnostic{Range: diagRange{conv(s.Sel.Start), conv(s.Sel.End)}, Severity: severityWarning,
			Code: code, Source: Source, Message: msg})
	}
	return out
}

func (d *diagnostics) clearOwn(ctx context.Context, path string) {
	d.mu.Lock()
	delete(d.secrets, path)
	d.mu.Unlock()
	d.set(ctx, path, Source, nil)
}

// set replaces one source's list and publishes the union if it changed.
func (d *diagnostics) set(ctx context.Context, path, source string, diags json.RawMessage) {
	d.mu.Lock()
	m := d.bySource[path]
	if m == nil {
		m = map[string]json.RawMessage{}
		d.bySource[path] = m
	}
	if len(diags) == 0 || string(diags) == "null" || string(diags) == "[]" {
		delete(m, source)
	} else {
		m[source] = diags
	}
	merged := d.mergedLocked(path)
	prev, ok := d.published[path]
	if !ok {
		prev = []byte("[]") // nothing published yet is the same as none
	}
	if bytes.Equal(merged, prev) {
		d.mu.Unlock()
		return
	}
	if len(m) == 0 {
		delete(d.bySource, path)
		delete(d.published, path)
	} else {
		d.published[path] = merged
	}
	d.mu.Unlock()
	if hub := d.p.svc.opts.Hub; hub != nil {
		params, _ := json.Marshal(map[string]any{"uri": "rubberduck://" + d.p.name + "/" + path, "diagnostics": json.RawMessage(merged)})
		hub.Notify(ctx, d.p.name, "", "textDocument/publishDiagnostics", params)
	}
}

func (d *diagnostics) mergedLocked(path string) []byte {
	m := d.bySource[path]
	sources := make([]string, 0, len(m))
	for s := range m {
		sources = append(sources, s)
	}
	sort.Strings(sources)
	var all []json.RawMessage
	for _, s := range sources {
		var list []json.RawMessage
		if json.Unmarshal(m[s], &list) == nil {
			all = append(all, list...)
		}
	}
	if all == nil {
		return []byte("[]")
	}
	b, _ := json.Marshal(all)
	return b
}

// Diagnostics returns the current diagnostics of every file with any, for
// a participant who joins after they were published.
func (p *Project) Diagnostics() map[string]json.RawMessage {
	p.diags.mu.Lock()
	defer p.diags.mu.Unlock()
	out := make(map[string]json.RawMessage, len(p.diags.published))
	for path, b := range p.diags.published {
		out[path] = json.RawMessage(b)
	}
	return out
}
