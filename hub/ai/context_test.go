package ai_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/rubberduckhub/rubberduck/hub/ai"
	"github.com/rubberduckhub/rubberduck/hub/ai/aitest"
	"github.com/rubberduckhub/rubberduck/hub/ai/budget"
	"github.com/rubberduckhub/rubberduck/hub/ai/propose"
	"github.com/rubberduckhub/rubberduck/hub/ai/provider"
)

type repoMap struct{}

func (repoMap) RepoMap(context.Context, string, string, int) (string, error) {
	return strings.Repeat("pkg/file.go: func Something()\n", 400), nil
}

func TestContextFitsTheBudgetAndReportsWhatWasLeftOut(t *testing.T) {
	e := newEnv(t, "openai", func(o *ai.Options) {
		o.ContextWindows = map[string]int{"gpt-4o-mini": 4000}
		o.MaxOutputTokens = 500
		o.RepoMap = repoMap{}
	})
	big := strings.Repeat("// a long line of a long file that is mentioned\n", 300) // ~5k tokens
	e.files.data["big.go"] = big
	e.files.data["calc/calc.go"] = strings.Repeat("func f() {}\n", 50) + "func Div(a, b int) int {\n\treturn a / b\n}\n"
	s := e.room.join("p1")
	e.enqueue(aitest.Reply{Chunks: []string{"ok"}})
	res, _ := e.eng.Send(context.Background(), ai.SendRequest{Project: "p1", Author: "ann", Text: "compare @big.go with @file:README.md and @symbol:Div",
		Editor: &ai.EditorContext{
			Path: "calc/calc.go", Cursor: &ai.Position{Line: 51},
			SelectionText: "return a / b", Selection: &ai.Range{Start: ai.Position{Line: 51}, End: ai.Position{Line: 51}},
			Diagnostics:   []ai.Diagnostic{{Path: "calc/calc.go", Range: ai.Range{Start: ai.Position{Line: 51}}, Severity: "warning", Message: "possible division by zero"}},
			OpenDocuments: []string{"calc/calc.go", "README.md"},
		}})
	m := s.final(t, res.ReplyID)
	rep := m["context"].(map[string]any)
	if rep["window"] != float64(4000) || rep["used"].(float64) > rep["budget"].(float64) {
		t.Fatalf("report = %v", rep)
	}
	kinds := map[string]map[string]any{}
	for _, x := range rep["included"].([]any) {
		en := x.(map[string]any)
		kinds[en["kind"].(string)+" "+en["name"].(string)] = en
	}
	for _, want := range []string{"question", "selection calc/calc.go:52-52", "cursor calc/calc.go:52", "mention README.md", "diagnostics problems"} {
		found := false
		for k := range kinds {
			if strings.HasPrefix(k, want) {
				found = true
			}
		}
		if !found {
			t.Errorf("included lacks %q: %v", want, kinds)
		}
	}
	// The big mention and the repo map cannot both fit: whatever was cut
	// or left out says so.
	omitted, _ := rep["omitted"].([]any)
	truncated := false
	for _, en := range kinds {
		if en["truncated"] == true {
			truncated = true
		}
	}
	if len(omitted) == 0 && !truncated {
		t.Errorf("nothing reported as left out or shortened: %v", rep)
	}
	if en, ok := kinds["mention @symbol:Div"]; !ok || en == nil {
		t.Errorf("unresolvable @symbol not reported: %v", kinds)
	}
	// What was sent really fits: the estimate of the request's messages is
	// within the window minus the output.
	body := e.reqs()[0].Body
	total := 0
	for _, x := range body["messages"].([]any) {
		total += budget.Estimate(x.(map[string]any)["content"].(string))
	}
	if total > 4000-500 {
		t.Errorf("request is %d tokens, over the budget", total)
	}
	if body["max_tokens"] != float64(500) { // a non-OpenAI base URL gets max_tokens
		t.Errorf("max tokens = %v", body["max_tokens"])
	}
}

func TestToolCallsAreVisibleAndUseTheAskersPermissions(t *testing.T) {
	for _, prov := range providers {
		t.Run(prov, func(t *testing.T) {
			e := newEnv(t, prov, nil)
			s := e.room.join("p1")
			e.enqueue(
				aitest.Reply{Chunks: []string{"Let me look. "}, ToolCalls: []aitest.ToolCall{
					{ID: "call_1", Name: "read_file", Args: []string{`{"path":`, `"calc/calc.go"}`}},
					{ID: "call_2", Name: "search", Args: []string{`{"query":"Div"}`}},
				}},
				aitest.Reply{Chunks: []string{"Div divides."}},
			)
			res, _ := e.eng.Send(context.Background(), ai.SendRequest{Project: "p1", Author: "ann", Text: "what is in calc?"})
			m := s.final(t, res.ReplyID)
			if m["status"] != "done" || m["text"] != "Let me look. Div divides." {
				t.Fatalf("final = %v", m)
			}
			parts := m["parts"].([]any)
			if len(parts) != 2 || parts[0].(map[string]any)["summary"] != "read calc/calc.go (5 lines)" {
				t.Errorf("parts = %v", parts)
			}
			var toolNotes int
			for _, n := range s.all() {
				if n.Method == ai.MethodTool {
					toolNotes++
				}
			}
			if toolNotes != 4 { // running + done for each call
				t.Errorf("tool notifications = %d", toolNotes)
			}
			second := e.reqs()[1].Body
			raw := strings.Join(flatten(second["messages"]), "\n")
			if !strings.Contains(raw, "return a / b") || !strings.Contains(raw, "calc/calc.go:3: func Div") {
				t.Errorf("tool results not sent back to the model: %s", raw)
			}
		})
	}
}

func TestNoFileAccessMeansNoTools(t *testing.T) {
	e := newEnv(t, "openai", nil)
	e.files.denied["eve"] = true
	s := e.room.join("p1")
	res, _ := e.eng.Send(context.Background(), ai.SendRequest{Project: "p1", Author: "eve", Text: "read @calc/calc.go"})
	s.final(t, res.ReplyID)
	body := e.reqs()[0].Body
	if _, ok := body["tools"]; ok {
		t.Error("tools offered to someone who may not read files")
	}
	if strings.Contains(lastUserText(e.reqs()[0]), "return a / b") {
		t.Error("a file leaked into the prompt of someone who may not read it")
	}
}

// flatten collects every string inside v.
func flatten(v any) []string {
	switch x := v.(type) {
	case string:
		return []string{x}
	case []any:
		var out []string
		for _, y := range x {
			out = append(out, flatten(y)...)
		}
		return out
	case map[string]any:
		var out []string
		for _, y := range x {
			out = append(out, flatten(y)...)
		}
		return out
	}
	return nil
}

func TestFixProducesProposalsResolvedWhileTheDocumentChanges(t *testing.T) {
	for _, prov := range providers {
		t.Run(prov, func(t *testing.T) {
			e := newEnv(t, prov, nil)
			s := e.room.join("p1")
			e.files.data["calc/calc.go"] = "package calc\n\n// Add adds.\nfunc Add(a, b int) int {\n\treturn a + b\n}\n\nfunc Sub(a, b int) int {\n\treturn a - b\n}\n\nfunc Mul(a, b int) int {\n\treturn a * b\n}\n\nfunc Div(a, b int) int {\n\treturn a / b\n}\n"
			answer := "Division by zero panics; guard it.\n\ncalc/calc.go\n<<<<<<< SEARCH\nfunc Div(a, b int) int {\n\treturn a / b\n}\n=======\nfunc Div(a, b int) int {\n\tif b == 0 {\n\t\treturn 0\n\t}\n\treturn a / b\n}\n>>>>>>> REPLACE\n\ncalc/calc.go\n<<<<<<< SEARCH\nfunc Add(a, b int) int {\n=======\nfunc Add(a, b int) int { // nolint\n>>>>>>> REPLACE\n"
			e.enqueue(aitest.Reply{Chunks: []string{answer[:40], answer[40:]}})
			res, err := e.eng.CodeAction(context.Background(), ai.ActionFix, ai.SendRequest{Project: "p1", Author: "ann",
				Editor: &ai.EditorContext{Path: "calc/calc.go", SelectionText: "return a / b"}})
			if err != nil {
				t.Fatal(err)
			}
			m := s.final(t, res.ReplyID)
			props, _ := m["proposals"].([]any)
			if len(props) != 1 {
				t.Fatalf("proposals = %v (parts %v)", props, m["parts"])
			}
			n := s.waitFor(t, "proposal", func(n note) bool { return n.Method == ai.MethodProposal })
			p := n.Params["proposal"].(map[string]any)
			hunks := p["hunks"].([]any)
			if p["path"] != "calc/calc.go" || len(hunks) != 2 || !strings.Contains(hunks[1].(map[string]any)["diff"].(string), "+\tif b == 0 {") {
				t.Fatalf("proposal = %v", p)
			}
			// Someone types above both hunks and re-spaces the Div body.
			e.docs.edit("calc/calc.go", func(s string) string {
				s = strings.Replace(s, "package calc\n", "package calc\n\nimport \"errors\"\n\nvar errDiv = errors.New(\"div\")\n", 1)
				return strings.Replace(s, "\treturn a / b\n", "\treturn a/b\n", 1)
			})
			id := props[0].(string)
			pr, err := e.eng.Proposals().Resolve(context.Background(), "p1", id, 0, false, "bob")
			if err != nil || pr.Hunks[0].Status != propose.Rejected {
				t.Fatalf("reject: %v %+v", err, pr)
			}
			pr, err = e.eng.Proposals().Resolve(context.Background(), "p1", id, 1, true, "bob")
			if err != nil || pr.Hunks[1].Status != propose.Accepted {
				t.Fatalf("accept: %v %+v", err, pr.Hunks[1])
			}
			got := e.files.data["calc/calc.go"]
			if !strings.Contains(got, "\tif b == 0 {\n\t\treturn 0\n\t}\n") || strings.Contains(got, "nolint") || !strings.Contains(got, "errDiv") {
				t.Errorf("document after review:\n%s", got)
			}
		})
	}
}

func TestOllamaGetsItsSmallDefaultWindowUnlessConfigured(t *testing.T) {
	e := newEnv(t, "openai", nil)
	ctx := context.Background()
	// No request is made: /model only reports the budget.
	eng, err := ai.New(ai.Options{Store: e.st, Broadcaster: e.room, Provider: providerCfg("http://127.0.0.1:11434/v1", 0)})
	if err != nil {
		t.Fatal(err)
	}
	defer eng.Close()
	s := e.room.join("p1")
	res, _ := eng.Send(ctx, ai.SendRequest{Project: "p1", Author: "ann", Text: "/model"})
	if m := s.final(t, res.ReplyID); !strings.Contains(m["text"].(string), "context window 2048") {
		t.Errorf("/model on Ollama = %v", m["text"])
	}
	eng2, _ := ai.New(ai.Options{Store: e.st, Broadcaster: e.room, Provider: providerCfg("http://127.0.0.1:11434/v1", 16384)})
	defer eng2.Close()
	res, _ = eng2.Send(ctx, ai.SendRequest{Project: "p1", Author: "ann", Text: "/model"})
	if m := s.final(t, res.ReplyID); !strings.Contains(m["text"].(string), "context window 16384") {
		t.Errorf("/model with RUBBERDUCK_AI_CONTEXT_WINDOW = %v", m["text"])
	}
}

func providerCfg(base string, window int) provider.Config {
	return provider.Config{Provider: "openai", Model: "llama3.2", BaseURL: base, ContextWindow: window}
}

func TestProposeEditToolBecomesAProposal(t *testing.T) {
	e := newEnv(t, "anthropic", nil)
	s := e.room.join("p1")
	e.enqueue(
		aitest.Reply{ToolCalls: []aitest.ToolCall{{ID: "toolu_1", Name: "propose_edit",
			Args: []string{`{"path":"calc/calc.go","search":"\treturn a / b\n",`, `"replace":"\tif b == 0 {\n\t\treturn 0\n\t}\n\treturn a / b\n"}`}}}},
		aitest.Reply{Chunks: []string{"I proposed a guard against division by zero."}},
	)
	res, _ := e.eng.Send(context.Background(), ai.SendRequest{Project: "p1", Author: "ann", Text: "guard Div"})
	m := s.final(t, res.ReplyID)
	props, _ := m["proposals"].([]any)
	if m["status"] != "done" || len(props) != 1 {
		t.Fatalf("final = %v", m)
	}
	part := m["parts"].([]any)[0].(map[string]any)
	if args := part["args"].(map[string]any); args["path"] != "calc/calc.go" || args["replace"] != nil {
		t.Errorf("tool part shows %v; file content must not be in the conversation", args)
	}
	p, err := e.eng.Proposals().Resolve(context.Background(), "p1", props[0].(string), -1, true, "bob")
	if err != nil || !p.Done() || !strings.Contains(e.files.data["calc/calc.go"], "if b == 0") {
		t.Fatalf("accept all: %v %+v\n%s", err, p, e.files.data["calc/calc.go"])
	}
}

func TestOnlyWritersResolveProposals(t *testing.T) {
	e := newEnv(t, "openai", func(o *ai.Options) {
		o.CanWrite = func(_ context.Context, _, person string) bool { return person != "guest" }
	})
	s := e.room.join("p1")
	e.enqueue(aitest.Reply{Chunks: []string{"calc/calc.go\n<<<<<<< SEARCH\n\treturn a / b\n=======\n\treturn a / (b + 0)\n>>>>>>> REPLACE\n"}})
	res, _ := e.eng.Send(context.Background(), ai.SendRequest{Project: "p1", Author: "ann", Text: "/refactor"})
	m := s.final(t, res.ReplyID)
	id := m["proposals"].([]any)[0].(string)
	if _, err := e.eng.ResolveProposal(context.Background(), "p1", id, 0, true, "guest"); !errors.Is(err, ai.ErrForbidden) {
		t.Errorf("guest resolved a proposal: %v", err)
	}
	if p, err := e.eng.ResolveProposal(context.Background(), "p1", id, 0, true, "ann"); err != nil || p.Hunks[0].Status != propose.Accepted {
		t.Errorf("writer: %v %+v", err, p)
	}
}

func TestUnreachableProviderIsExplainedAndStartUpIsOffline(t *testing.T) {
	e := newEnv(t, "openai", nil)
	eng, err := ai.New(ai.Options{Store: e.st, Broadcaster: e.room,
		Provider: provider.Config{Provider: "anthropic", Model: "claude-sonnet-4-5", BaseURL: "http://127.0.0.1:1"}})
	if err != nil {
		t.Fatal(err)
	}
	defer eng.Close()
	if n := len(e.reqs()) + len(e.ant.Requests()); n != 0 {
		t.Fatalf("start-up made %d requests", n)
	}
	s := e.room.join("p1")
	res, _ := eng.Send(context.Background(), ai.SendRequest{Project: "p1", Author: "ann", Text: "hi"})
	m := s.final(t, res.ReplyID)
	if m["errorKind"] != "unreachable" || !strings.Contains(m["error"].(string), "cannot be reached") {
		t.Errorf("final = %v", m)
	}
}

type problems []ai.Diagnostic

func (p problems) Problems(context.Context, string, string, string) ([]ai.Diagnostic, error) {
	return p, nil
}

func TestProblemsMentionUsesTheHubsDiagnostics(t *testing.T) {
	e := newEnv(t, "openai", func(o *ai.Options) {
		o.Problems = problems{{Path: "calc/calc.go", Range: ai.Range{Start: ai.Position{Line: 3}}, Severity: "error", Message: "integer divide by zero"}}
	})
	s := e.room.join("p1")
	res, _ := e.eng.Send(context.Background(), ai.SendRequest{Project: "p1", Author: "ann", Text: "what about @problems?"})
	s.final(t, res.ReplyID)
	if got := lastUserText(e.reqs()[0]); !strings.Contains(got, "calc/calc.go:4:1: error integer divide by zero") {
		t.Errorf("diagnostics not in the prompt:\n%s", got)
	}
}

func TestProjectSwitchingProviderFamilyKeepsNothingOfTheHubsEndpoint(t *testing.T) {
	e := newEnv(t, "openai", nil)
	ctx := context.Background()
	if err := e.eng.SetProjectConfig(ctx, "p1", ai.ProjectConfig{Provider: "anthropic", Model: "claude-sonnet-4-5", BaseURL: e.ant.BaseURL()}); err != nil {
		t.Fatal(err)
	}
	s := e.room.join("p1")
	res, _ := e.eng.Send(ctx, ai.SendRequest{Project: "p1", Author: "ann", Text: "hi"})
	if m := s.final(t, res.ReplyID); m["status"] != "done" {
		t.Fatalf("final = %v", m)
	}
	reqs := e.ant.Requests()
	if len(reqs) != 1 || strings.Contains(reqs[0].Header.Get("X-Api-Key"), "sk-test") {
		t.Errorf("anthropic requests %d, key %q", len(reqs), reqs[0].Header.Get("X-Api-Key"))
	}
}
