//go:build !devhub

package e2e

import (
	"testing"
	"time"
)

// TestUndoInNeovimRevertsOnlyMine: pressing u in a shared buffer takes back
// the person's own last edit, not the one someone else made after it, in
// every editor; <C-r> brings it back.
func TestUndoInNeovimRevertsOnlyMine(t *testing.T) {
	needNvim(t)
	h := startHub(t)
	const path = "undo.go"
	writeFile(t, h.Dir, path, initialText)
	ann := startEditor(t, "ann", h.URL, h.Project, h.Token, h.Dir)
	bob := startEditor(t, "bob", h.URL, h.Project, h.Token, h.Dir)
	ann.open(t, path, initialText)
	bob.open(t, path, initialText)

	step := func(name, want string) {
		t.Helper()
		texts := func() []string { return []string{want, ann.text(t), bob.text(t), h.read(t, path)} }
		if _, ok := converge(t, 5*time.Second, texts); !ok {
			t.Fatalf("%s: want, ann, bob, hub = %q", name, texts())
		}
	}
	ann.edit(t, 0, 0, "// ann\n")
	step("ann typed", "// ann\n"+initialText)
	bob.edit(t, 0, 0, "// bob\n")
	step("bob typed", "// bob\n// ann\n"+initialText)

	if err := ann.v.FeedKeys("u", "x", false); err != nil {
		t.Fatal(err)
	}
	step("ann pressed u", "// bob\n"+initialText)
	if err := ann.v.FeedKeys("\x12", "x", false); err != nil {
		t.Fatal(err)
	}
	step("ann pressed <C-r>", "// bob\n// ann\n"+initialText)
}
