package propose_test

import (
	"context"
	"strings"
	"sync"
	"testing"

	"github.com/rubberduckhub/rubberduck/hub/ai/propose"
	"github.com/rubberduckhub/rubberduck/hub/store"
)

// docs is an in-memory Documents: one text per path with a version.
type docs struct {
	mu      sync.Mutex
	text    map[string]string
	version map[string]uint64
	authors []string
}

func newDocs() *docs { return &docs{text: map[string]string{}, version: map[string]uint64{}} }

func (d *docs) set(path, text string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.text[path] = text
	d.version[path]++
}

func (d *docs) get(path string) string {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.text[path]
}

func (d *docs) Text(_ context.Context, _, path string) (string, uint64, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.text[path], d.version[path], nil
}

func (d *docs) Apply(_ context.Context, _, path, author string, v uint64, edits []propose.Edit) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if v != d.version[path] {
		return propose.ErrStale
	}
	t := d.text[path]
	for i := len(edits) - 1; i >= 0; i-- {
		e := edits[i]
		t = t[:e.Start] + e.NewText + t[e.End:]
	}
	d.text[path] = t
	d.version[path]++
	d.authors = append(d.authors, author)
	return nil
}

const before = `package calc

func Add(a, b int) int {
	return a + b
}

func Sub(a, b int) int {
	return a - b
}

func Mul(a, b int) int {
	return a * b
}

func Div(a, b int) int {
	return a / b
}
`

func fixed() string {
	s := strings.Replace(before, "func Add(a, b int) int {\n", "// Add adds.\nfunc Add(a, b int) int {\n", 1)
	s = strings.Replace(s, "\treturn a / b\n", "\tif b == 0 {\n\t\treturn 0\n\t}\n\treturn a / b\n", 1)
	return s
}

func setup(t *testing.T) (*propose.Manager, *docs, *[]*propose.Proposal) {
	t.Helper()
	d := newDocs()
	d.set("calc.go", before)
	var seen []*propose.Proposal
	var mu sync.Mutex
	m := propose.NewManager(store.NewMemory(), d, func(_ context.Context, p *propose.Proposal) {
		mu.Lock()
		defer mu.Unlock()
		seen = append(seen, p)
	})
	return m, d, &seen
}

func TestProposalSplitsIntoHunksWithUnifiedDiffs(t *testing.T) {
	m, _, seen := setup(t)
	p, err := m.Create(context.Background(), "p1", "calc.go", "msg1", "ann", "fix", before, fixed())
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Hunks) != 2 {
		t.Fatalf("hunks = %d, want 2", len(p.Hunks))
	}
	if !strings.Contains(p.Hunks[0].Diff, "+// Add adds.") || !strings.HasPrefix(p.Hunks[0].Diff, "--- a/calc.go\n+++ b/calc.go\n@@ ") {
		t.Errorf("diff 0 = %q", p.Hunks[0].Diff)
	}
	if len(*seen) != 1 {
		t.Errorf("notifications = %d", len(*seen))
	}
	if _, err := m.Create(context.Background(), "p1", "calc.go", "", "ann", "", before, before); err != propose.ErrNoChange {
		t.Errorf("no-op proposal: %v", err)
	}
}

func TestResolveWhileTheDocumentChanges(t *testing.T) {
	cases := []struct {
		name     string
		edit     func(string) string // what someone typed after the proposal
		accept   []int
		reject   []int
		want     []propose.Status
		match    propose.MatchMode
		contains []string
		lacks    []string
	}{
		{
			name:     "unchanged document, accept both",
			edit:     func(s string) string { return s },
			accept:   []int{0, 1},
			want:     []propose.Status{propose.Accepted, propose.Accepted},
			match:    propose.MatchExact,
			contains: []string{"// Add adds.\nfunc Add", "if b == 0"},
		},
		{
			name: "lines inserted above: hunks move",
			edit: func(s string) string {
				return strings.Replace(s, "package calc\n", "package calc\n\nimport \"fmt\"\n\nvar _ = fmt.Sprint\n", 1)
			},
			accept:   []int{1},
			reject:   []int{0},
			want:     []propose.Status{propose.Rejected, propose.Accepted},
			match:    propose.MatchExact,
			contains: []string{"import \"fmt\"", "if b == 0"},
			lacks:    []string{"// Add adds."},
		},
		{
			name:     "spacing changed: whitespace-insensitive",
			edit:     func(s string) string { return strings.Replace(s, "\treturn a / b\n", "\treturn a  /  b   \n", 1) },
			accept:   []int{1},
			want:     []propose.Status{propose.Pending, propose.Accepted},
			match:    propose.MatchWhitespace,
			contains: []string{"if b == 0"},
		},
		{
			name: "re-indented: indentation-insensitive, new lines follow",
			edit: func(s string) string {
				return strings.Replace(s, "func Div(a, b int) int {\n\treturn a / b\n}\n", "\tfunc Div(a, b int) int {\n\t\treturn a / b\n\t}\n", 1)
			},
			accept:   []int{1},
			want:     []propose.Status{propose.Pending, propose.Accepted},
			match:    propose.MatchIndentation,
			contains: []string{"\t\tif b == 0 {\n\t\t\treturn 0\n\t\t}\n\t\treturn a / b\n"},
		},
		{
			name: "code deleted: conflict reported, nothing applied",
			edit: func(s string) string {
				return strings.Replace(s, "func Div(a, b int) int {\n\treturn a / b\n}\n", "", 1)
			},
			accept: []int{1},
			want:   []propose.Status{propose.Pending, propose.Conflict},
			lacks:  []string{"if b == 0"},
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			m, d, seen := setup(t)
			ctx := context.Background()
			p, err := m.Create(ctx, "p1", "calc.go", "", "ann", "", before, fixed())
			if err != nil {
				t.Fatal(err)
			}
			d.set("calc.go", c.edit(d.get("calc.go")))
			for _, h := range c.reject {
				if p, err = m.Resolve(ctx, "p1", p.ID, h, false, "bob"); err != nil {
					t.Fatal(err)
				}
			}
			for _, h := range c.accept {
				if p, err = m.Resolve(ctx, "p1", p.ID, h, true, "bob"); err != nil {
					t.Fatal(err)
				}
			}
			for i, st := range c.want {
				if p.Hunks[i].Status != st {
					t.Errorf("hunk %d = %s (%s), want %s", i, p.Hunks[i].Status, p.Hunks[i].Reason, st)
				}
				if st == propose.Accepted && c.match != "" && p.Hunks[i].Match != c.match {
					t.Errorf("hunk %d matched %s, want %s", i, p.Hunks[i].Match, c.match)
				}
				if st == propose.Conflict && p.Hunks[i].Reason == "" {
					t.Errorf("conflict without a reason")
				}
			}
			got := d.get("calc.go")
			for _, s := range c.contains {
				if !strings.Contains(got, s) {
					t.Errorf("document lacks %q:\n%s", s, got)
				}
			}
			for _, s := range c.lacks {
				if strings.Contains(got, s) {
					t.Errorf("document has %q:\n%s", s, got)
				}
			}
			if len(*seen) != 1+len(c.accept)+len(c.reject) {
				t.Errorf("notifications = %d", len(*seen))
			}
			stored, _ := m.Get(ctx, "p1", p.ID)
			if stored.Hunks[len(c.want)-1].Status != c.want[len(c.want)-1] {
				t.Error("resolution not persisted")
			}
		})
	}
}

func TestAcceptAllAndList(t *testing.T) {
	m, d, _ := setup(t)
	ctx := context.Background()
	p, _ := m.Create(ctx, "p1", "calc.go", "", "ann", "", before, fixed())
	if l, _ := m.List(ctx, "p1"); len(l) != 1 {
		t.Fatalf("pending proposals = %d", len(l))
	}
	p, err := m.Resolve(ctx, "p1", p.ID, -1, true, "bob")
	if err != nil || !p.Done() {
		t.Fatalf("%v %+v", err, p)
	}
	if d.get("calc.go") != fixed() {
		t.Errorf("document = %q", d.get("calc.go"))
	}
	if l, _ := m.List(ctx, "p1"); len(l) != 0 {
		t.Errorf("resolved proposal still listed")
	}
	if _, err := m.Resolve(ctx, "p1", p.ID, 9, true, "bob"); err != propose.ErrNotFound {
		t.Errorf("bad hunk: %v", err)
	}
}

func TestParseAndApplyReplacements(t *testing.T) {
	answer := "Here is the fix.\n\n`calc.go`\n```go\n<<<<<<< SEARCH\nfunc Div(a, b int) int {\n    return a / b\n}\n=======\nfunc Div(a, b int) int {\n    if b == 0 {\n        return 0\n    }\n    return a / b\n}\n>>>>>>> REPLACE\n```\n"
	rs := propose.ParseReplacements(answer, "other.go")
	if len(rs) != 1 || rs[0].Path != "calc.go" {
		t.Fatalf("parsed %+v", rs)
	}
	out, mode, ok := propose.ApplyReplacement(before, rs[0])
	if !ok || mode != propose.MatchIndentation {
		t.Fatalf("ok=%v mode=%s", ok, mode)
	}
	if !strings.Contains(out, "\tif b == 0 {\n\t\treturn 0\n\t}\n\treturn a / b\n}\n") {
		t.Errorf("applied:\n%s", out)
	}
	if _, _, ok := propose.ApplyReplacement(before, propose.Replacement{Search: "nope\n", Replace: "x\n"}); ok {
		t.Error("missing search applied")
	}
}
