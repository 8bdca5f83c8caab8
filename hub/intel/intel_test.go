package intel_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/rubberduckhub/rubberduck/hub/intel"
	"github.com/rubberduckhub/rubberduck/hub/intel/index"
	"github.com/rubberduckhub/rubberduck/hub/intel/lspool"
	"github.com/rubberduckhub/rubberduck/lsp/protocol"
)

// fakeHub records what the service publishes to a project's room.
type fakeHub struct {
	mu    sync.Mutex
	diags map[string]string // uri -> diagnostics JSON
}

func (h *fakeHub) Notify(_ context.Context, _, _, method string, params json.RawMessage) {
	if method != "textDocument/publishDiagnostics" {
		return
	}
	var p struct {
		URI         string          `json:"uri"`
		Diagnostics json.RawMessage `json:"diagnostics"`
	}
	_ = json.Unmarshal(params, &p)
	h.mu.Lock()
	defer h.mu.Unlock()
	h.diags[p.URI] = string(p.Diagnostics)
}

func (h *fakeHub) ApplyEdit(context.Context, string, string, json.RawMessage) (bool, error) {
	return false, nil
}

func (h *fakeHub) get(uri string) string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.diags[uri]
}

// A token shaped like a GitHub personal access token (not a real one).
const fakeToken = "ghp_R8uTq2LmZx4VbN7cW1yE5aK9sD3fG6hJ0pQw"

func newProject(t *testing.T) (*intel.Project, *fakeHub, string) {
	t.Helper()
	dir := t.TempDir()
	files := map[string]string{
		"go.mod":      "module example.com/demo\n\ngo 1.22\n",
		"shapes.go":   mustRead(t, "testdata/go/shapes.go"),
		"deploy.env":  "DEPLOY_USER=ci\nGITHUB_TOKEN=" + fakeToken + "\n",
		"unicode.go":  "package shapes\n\nvar greeting = \"h\u00e9llo \U0001F600\"; var answer = Describe(nil)\n",
		"README.md":   "# Demo\n\n## Shapes\n",
		"cmd/main.go": "package main\n\nimport \"example.com/demo\"\n\nfunc main() { shapes.Describe(nil) }\n",
	}
	for name, text := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	hub := &fakeHub{diags: map[string]string{}}
	svc := intel.New(intel.Options{Hub: hub, Servers: map[string]lspool.ServerConfig{},
		Thresholds: intel.Thresholds{Complexity: 4}})
	t.Cleanup(func() { _ = svc.Close() })
	paths := []string{"go.mod", "shapes.go", "deploy.env", "unicode.go", "README.md", "cmd/main.go"}
	p, err := svc.AddProject(context.Background(), "demo", dir, index.FSSource(os.DirFS(dir)), paths)
	if err != nil {
		t.Fatal(err)
	}
	p.Wait()
	return p, hub, dir
}

func mustRead(t *testing.T, p string) string {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestOwnDiagnostics(t *testing.T) {
	_, hub, _ := newProject(t)
	if d := hub.get("rubberduck://demo/deploy.env"); !strings.Contains(d, "secret/github-pat") || !strings.Contains(d, `"line":1,"character":13`) {
		t.Errorf("the committed token is not reported where it is: %s", d)
	}
	if d := hub.get("rubberduck://demo/shapes.go"); !strings.Contains(d, "Classify has a cyclomatic complexity of 5 (over 4)") {
		t.Errorf("no complexity warning for Classify: %s", d)
	}
	if d := hub.get("rubberduck://demo/README.md"); d != "" {
		t.Errorf("a clean file got diagnostics published: %s", d)
	}
}

func TestLiveDocumentsAndQueries(t *testing.T) {
	p, hub, _ := newProject(t)
	ctx := context.Background()

	// Someone types a new function; nothing is saved.
	live := mustRead(t, "testdata/go/shapes.go") + "\nfunc Perimeter(c *Circle) float64 { return 2 * Pi * c.Radius }\n"
	if err := p.DocOpened(ctx, "shapes.go", live); err != nil {
		t.Fatal(err)
	}
	out, err := p.Outline(ctx, "shapes.go", intel.UTF16)
	if err != nil {
		t.Fatal(err)
	}
	last := out.Symbols[len(out.Symbols)-1]
	if last.Name != "Perimeter" || last.Metrics == nil || last.Metrics.Complexity != 1 {
		t.Errorf("outline does not show the live function: %+v", last)
	}
	// The edit that removes Classify's complexity clears its warning.
	live = strings.Replace(live, "if Describe(it) == \"large\" {\n\t\t\t\t\tcount++\n\t\t\t\t}", "count++", 1)
	if err := p.DocChanged(ctx, "shapes.go", live); err != nil {
		t.Fatal(err)
	}
	if d := hub.get("rubberduck://demo/shapes.go"); strings.Contains(d, "Classify") {
		t.Errorf("the warning outlived the edit: %s", d)
	}

	// Positions are in the client's encoding: after "héllo 😀" the UTF-16
	// column differs from the byte column by 4 (é: 2 bytes/1 unit, 😀:
	// 4 bytes/2 units).
	const line = "var greeting = \"h\u00e9llo \U0001F600\"; var answer = Describe(nil)"
	byteCol := strings.Index(line, "Describe")
	pos16 := protocol.Position{Line: 2, Character: uint32(byteCol - 3)}
	def, err := p.Definition(ctx, "alice", "unicode.go", &pos16, intel.UTF16)
	if err != nil {
		t.Fatal(err)
	}
	if len(def.Locations) != 1 || def.Locations[0].Path != "shapes.go" || def.Source != "index" {
		t.Fatalf("definition from a UTF-16 position: %+v", def)
	}
	refs, err := p.References(ctx, "bob", "shapes.go", &protocol.Position{Line: 25, Character: 6}, false, intel.UTF16)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, l := range refs.Locations {
		got = append(got, l.Path)
	}
	if strings.Join(got, ",") != "cmd/main.go,unicode.go" { // Classify's call went away with the edit
		t.Errorf("references of Describe: %v", got)
	}
	for _, l := range refs.Locations {
		if l.Path == "unicode.go" && l.Range.Start.Character != uint32(byteCol-3) {
			t.Errorf("reference column in UTF-16: %d, want %d", l.Range.Start.Character, byteCol-3)
		}
	}

	deps, err := p.Dependencies(ctx, "cmd/main.go")
	if err != nil {
		t.Fatal(err)
	}
	if len(deps.Edges) != 1 || deps.Edges[0].To != "." || deps.Edges[0].External {
		t.Errorf("cmd/main.go should import the module's root package: %+v", deps.Edges)
	}
	calls, err := p.Calls(ctx, "shapes.go", &protocol.Position{Line: 25, Character: 6}, "incoming", intel.UTF16)
	if err != nil {
		t.Fatal(err)
	}
	if len(calls.Calls) != 1 || calls.Calls[0].Name != "main" {
		t.Errorf("incoming calls of Describe: %+v", calls.Calls)
	}
	if _, err := p.Outline(ctx, "../etc/passwd", intel.UTF16); err == nil {
		t.Error("a path outside the project was accepted")
	}
	m := p.RepoMap(ctx, nil, 300)
	if !strings.Contains(m.Text, "shapes.go:\n") || len(m.Symbols) == 0 {
		t.Errorf("repo map: %q", m.Text)
	}
	if st := p.Status(); st.Files < 4 || len(st.Servers) != 0 {
		t.Errorf("status: %+v", st)
	}
}
