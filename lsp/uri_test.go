package lsp

import (
	"encoding/json"
	"testing"

	lsp "go.lsp.dev/protocol"
)

func TestPathMap(t *testing.T) {
	m := pathMap{root: "/srv/p1", project: "demo"}
	for _, tt := range []struct {
		uri  lsp.DocumentURI
		path string
		ok   bool
	}{
		{"file:///srv/p1/main.go", "main.go", true},
		{"file:///srv/p1/a/b%20c.go", "a/b c.go", true},
		{"file:///srv/p10/main.go", "", false}, // a sibling, not a prefix match
		{"file:///srv/p1", "", false},
		{"file:///srv/p1/../etc/passwd", "", false},
		{"untitled:Untitled-1", "", false},
	} {
		path, ok := m.toPath(tt.uri)
		if path != tt.path || ok != tt.ok {
			t.Errorf("toPath(%s) = %q, %v; want %q, %v", tt.uri, path, ok, tt.path, tt.ok)
		}
	}
	in := json.RawMessage(`{"textDocument":{"uri":"file:///srv/p1/a.go"},"other":"file:///elsewhere/x.go","n":[1,"file:///srv/p1/b.go"]}`)
	toHub := m.rewrite(in, true)
	var v map[string]any
	_ = json.Unmarshal(toHub, &v)
	if got := v["textDocument"].(map[string]any)["uri"]; got != "rubberduck://demo/a.go" {
		t.Errorf("to hub: %v", got)
	}
	if got := v["other"]; got != "file:///elsewhere/x.go" {
		t.Errorf("outside the project rewritten: %v", got)
	}
	back := m.rewrite(toHub, false)
	var w, orig map[string]any
	_ = json.Unmarshal(back, &w)
	_ = json.Unmarshal(in, &orig)
	if a, b := jsonString(w), jsonString(orig); a != b {
		t.Errorf("round trip: %s != %s", a, b)
	}
}

func jsonString(v any) string { b, _ := json.Marshal(v); return string(b) }
