package hub_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rubberduckhub/rubberduck/hub/ai/aitest"
	"github.com/rubberduckhub/rubberduck/lsp/protocol"
)

const calcGo = `package main

func add(a, b int) int {
	return a - b
}

func one() int { return 1 }

func two() int { return 2 }

func three() int { return 3 }

func sub(a, b int) int {
	return a + b
}
`

// twoFixes is an answer with two search/replace edits to main.go, far
// enough apart to be two hunks.
const twoFixes = "Both operators are swapped.\n\nmain.go\n<<<<<<< SEARCH\n\treturn a - b\n=======\n\treturn a + b\n>>>>>>> REPLACE\n\n" +
	"main.go\n<<<<<<< SEARCH\nfunc sub(a, b int) int {\n\treturn a + b\n=======\nfunc sub(a, b int) int {\n\treturn a - b\n>>>>>>> REPLACE\n"

// proposalOf waits for the proposal an answer made.
func proposalOf(t *testing.T, cc *chatClient, replyID string) protocol.Proposal {
	t.Helper()
	m, _ := cc.final(replyID)
	if len(m.Proposals) != 1 {
		t.Fatalf("answer %s made %d proposals (parts %+v)", m.Status, len(m.Proposals), m.Parts)
	}
	id := m.Proposals[0]
	cc.waitFor("proposal "+id, func() bool { _, ok := cc.proposals[id]; return ok })
	cc.mu.Lock()
	defer cc.mu.Unlock()
	return cc.proposals[id]
}

func resolve(t *testing.T, cc *chatClient, id string, hunk int, accept bool) protocol.Proposal {
	t.Helper()
	var p protocol.Proposal
	if err := cc.c.Call(ctx(t), protocol.MethodProposalResolve, protocol.ProposalResolveParams{Project: "demo", ID: id, Hunk: &hunk, Accept: accept}, &p); err != nil {
		t.Fatalf("proposal/resolve: %v", err)
	}
	return p
}

func TestProposalsResolvedWhileSomeoneTypes(t *testing.T) {
	h, fake := aiHub(t)
	if err := os.WriteFile(filepath.Join(h.ProjectDir, "main.go"), []byte(calcGo), 0o644); err != nil {
		t.Fatal(err)
	}
	editor := newThin(t, h, h.Token, "")
	editor.open("demo", "main.go", calcGo)
	chat := newChatClient(t, h, h.Token)
	fake.Enqueue(aitest.Reply{Chunks: []string{twoFixes}}, aitest.Reply{Chunks: []string{
		"main.go\n<<<<<<< SEARCH\nfunc two() int { return 2 }\n=======\nfunc two() int { return 22 }\n>>>>>>> REPLACE\n"}})

	res := chat.send("/fix", &protocol.ChatEditor{Path: "main.go"})
	p := proposalOf(t, chat, res.ReplyID)
	if p.Path != "main.go" || len(p.Hunks) != 2 || p.Hunks[0].Status != protocol.HunkPending {
		t.Fatalf("proposal = %+v", p)
	}

	// Someone types above the change before it is accepted.
	editor.typeAt(0, 0, "// Package main adds.\n")
	waitDoc(t, chat, "main.go", func(s string) bool { return strings.HasPrefix(s, "// Package main adds.\n") })
	got := resolve(t, chat, p.ID, 0, true)
	if got.Hunks[0].Status != protocol.HunkAccepted || got.Hunks[0].ResolvedBy != "owner" {
		t.Fatalf("accepted hunk = %+v", got.Hunks[0])
	}
	// ...and below it, then the second hunk is rejected.
	editor.typeAt(editor.len(), 0, "// end\n")
	if got = resolve(t, chat, p.ID, 1, false); got.Hunks[1].Status != protocol.HunkRejected {
		t.Fatalf("rejected hunk = %+v", got.Hunks[1])
	}
	want := "// Package main adds.\n" + strings.Replace(calcGo, "return a - b", "return a + b", 1) + "// end\n"
	waitDoc(t, chat, "main.go", func(s string) bool { return s == want })
	until(t, "the editor to show the accepted hunk", func() bool { return editor.Text() == want })

	// Every room member saw the proposal change, and nothing is pending.
	chat.waitFor("the resolved proposal", func() bool { return chat.proposals[p.ID].Hunks[1].Status == protocol.HunkRejected })
	var list protocol.ProposalListResult
	if err := chat.c.Call(ctx(t), protocol.MethodProposalList, protocol.ProjectParams{Project: "demo"}, &list); err != nil {
		t.Fatal(err)
	}
	if len(list.Proposals) != 0 {
		t.Fatalf("pending proposals = %+v", list.Proposals)
	}

	// A change whose lines someone has since rewritten is a conflict, not
	// an edit in a guessed place.
	res = chat.send("make two bigger", &protocol.ChatEditor{Path: "main.go"})
	p = proposalOf(t, chat, res.ReplyID)
	text := editor.Text()
	at := strings.Index(text, "func two()")
	editor.typeAt(len([]rune(text[:at])), len("func two() int { return 2 }"), "func two() int { return 2 + 0 }")
	waitDoc(t, chat, "main.go", func(s string) bool { return strings.Contains(s, "2 + 0") })
	got = resolve(t, chat, p.ID, -1, true)
	if got.Hunks[0].Status != protocol.HunkConflict || got.Hunks[0].Reason == "" {
		t.Fatalf("hunk over rewritten lines = %+v", got.Hunks[0])
	}
	if doc := hubText(t, chat, "main.go"); strings.Contains(doc, "22") {
		t.Fatalf("a conflicting hunk was applied:\n%s", doc)
	}
}

func TestProposalToAClosedFileIsWrittenToDisk(t *testing.T) {
	h, fake := aiHub(t)
	file := filepath.Join(h.ProjectDir, "main.go")
	if err := os.WriteFile(file, []byte(calcGo), 0o644); err != nil {
		t.Fatal(err)
	}
	chat := newChatClient(t, h, h.Token)
	fake.Enqueue(aitest.Reply{Chunks: []string{twoFixes}})
	res := chat.send("/fix the operators", &protocol.ChatEditor{Path: "main.go"})
	p := proposalOf(t, chat, res.ReplyID)
	got := resolve(t, chat, p.ID, -1, true)
	for _, hk := range got.Hunks {
		if hk.Status != protocol.HunkAccepted {
			t.Fatalf("hunk %d = %s %s", hk.Index, hk.Status, hk.Reason)
		}
	}
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	want := strings.Replace(strings.Replace(calcGo, "return a - b", "RETURN_ADD", 1), "return a + b", "return a - b", 1)
	want = strings.Replace(want, "RETURN_ADD", "return a + b", 1)
	if string(b) != want {
		t.Fatalf("file on disk:\n%s\nwant:\n%s", b, want)
	}
}

func hubText(t *testing.T, cc *chatClient, path string) string {
	t.Helper()
	var r protocol.DocReadResult
	if err := cc.c.Call(context.Background(), protocol.MethodDocRead, protocol.DocRef{Project: "demo", Path: path}, &r); err != nil {
		t.Fatalf("doc/read: %v", err)
	}
	return r.Text
}

func waitDoc(t *testing.T, cc *chatClient, path string, ok func(string) bool) {
	t.Helper()
	until(t, "the hub's "+path, func() bool { return ok(hubText(t, cc, path)) })
}

// until polls cond for up to 20 seconds.
func until(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
