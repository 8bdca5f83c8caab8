package ai

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"github.com/rubberduckhub/rubberduck/hub/ai/budget"
	"github.com/rubberduckhub/rubberduck/hub/ai/propose"
	"github.com/rubberduckhub/rubberduck/hub/ai/provider"
)

const systemPrompt = "You are RubberDuck, an AI pair programmer taking part in a shared coding room: " +
	"several people see your answers at once, and each question is prefixed with the name of who asked. " +
	"Be concise and concrete. Refer to files by their project-relative paths. " +
	"Context from the asker's editor follows their question; say so when something you need is missing."

const toolsPrompt = " You can read, list and search the project's files with tools, and propose edits; " +
	"use them instead of guessing file contents."

// maxOpenDocuments is how many other open documents are offered as context.
const maxOpenDocuments = 4

// cursorLines is how many lines around the cursor count as the cursor region.
const cursorLines = 40

// reserveTokens is kept free for the prompt's framing and the estimate's error.
const reserveTokens = 256

// buildPrompt assembles the model request for ask under the model's budget
// and reports what was included and left out.
func (e *Engine) buildPrompt(ctx context.Context, ask *record, cfg provider.Config, files Files) (provider.Request, *budget.Report, error) {
	model := cfg.Model
	cmd, _ := lookupCommand(ask.Command)
	_, question := parseCommand(ask.Text)
	if cmd.Name == "" {
		question = ask.Text
	}
	system := systemPrompt
	if files != nil && !e.opts.DisableTools {
		system += toolsPrompt
	}
	system += "\n\nWhen you suggest changes to files, give them as edits. " + propose.FormatInstructions
	if cmd.Prompt != "" {
		question = strings.TrimSpace(cmd.Prompt + "\n" + question)
	}

	window := e.window(cfg, model)
	maxOut := min(e.opts.MaxOutputTokens, window/4)
	avail := window - maxOut - budget.Estimate(system) - reserveTokens
	if avail < 64 {
		avail = 64
	}

	var items []budget.Item
	items = append(items, budget.Item{Kind: budget.KindQuestion, Name: ask.ID, Text: ask.Author + ": " + question, Required: true})
	items = append(items, e.editorItems(ctx, ask, files)...)
	if e.opts.RepoMap != nil {
		if m, err := e.opts.RepoMap.RepoMap(ctx, ask.Project, ask.Author, avail/8); err == nil && m != "" {
			items = append(items, budget.Item{Kind: budget.KindRepoMap, Name: "repository", Text: m, Priority: 60, Truncatable: true})
		}
	}
	hist, err := e.conversation(ctx, ask.Project, ask.ID)
	if err != nil {
		return provider.Request{}, nil, err
	}
	for i := len(hist) - 1; i >= 0; i-- {
		h := hist[i]
		text := h.Text
		if h.Role == RoleUser {
			text = h.Author + ": " + text
		}
		items = append(items, budget.Item{Kind: budget.KindHistory, Name: h.ID, Text: text, Priority: 100 + (len(hist) - 1 - i)})
	}

	packed, rep := budget.Pack(avail, items)
	rep.Model = model
	rep.Window = window
	collapseHistory(&rep, len(hist))

	// History turns go first, oldest first; the rest forms the question.
	var turns []budget.Item
	var ctxParts []string
	var q string
	for _, it := range packed {
		switch it.Kind {
		case budget.KindHistory:
			turns = append(turns, it)
		case budget.KindQuestion:
			q = it.Text
		default:
			ctxParts = append(ctxParts, fmt.Sprintf("### %s: %s\n%s", it.Kind, it.Name, strings.TrimRight(it.Text, "\n")))
		}
	}
	sort.Slice(turns, func(i, j int) bool { return turns[i].Name < turns[j].Name })
	roles := make(map[string]Role, len(hist))
	for _, h := range hist {
		roles[h.ID] = h.Role
	}
	req := provider.Request{Model: model, System: system, MaxTokens: maxOut}
	// Providers want alternating turns: neighbours of one role are merged.
	var cur strings.Builder
	curRole := provider.Role("")
	flush := func() {
		if cur.Len() > 0 {
			req.Messages = append(req.Messages, provider.Message{Role: curRole, Text: cur.String()})
			cur.Reset()
		}
	}
	for _, t := range turns {
		role := provider.RoleUser
		if roles[t.Name] == RoleAssistant {
			role = provider.RoleAssistant
		}
		if role != curRole {
			flush()
			curRole = role
		} else {
			cur.WriteString("\n\n")
		}
		cur.WriteString(t.Text)
	}
	flush()
	if len(req.Messages) > 0 && req.Messages[0].Role == provider.RoleAssistant {
		req.Messages = req.Messages[1:]
	}
	final := q
	if len(ctxParts) > 0 {
		final += "\n\n## Context from " + ask.Author + "'s editor\n" + strings.Join(ctxParts, "\n\n")
	}
	if n := len(req.Messages); n > 0 && req.Messages[n-1].Role == provider.RoleUser {
		req.Messages[n-1].Text += "\n\n" + final
	} else {
		req.Messages = append(req.Messages, provider.Message{Role: provider.RoleUser, Text: final})
	}
	return req, &rep, nil
}

// editorItems turns the asker's editor state and mentions into context items.
func (e *Engine) editorItems(ctx context.Context, ask *record, files Files) []budget.Item {
	ed := ask.Editor
	if ed == nil {
		ed = &EditorContext{}
	}
	var items []budget.Item
	// The selection and the problems are always offered (@selection and
	// @problems only say so explicitly); mentioned files and symbols are
	// resolved with the asker's permissions.
	mentions := parseMentions(ask.Text)
	if ed.SelectionText != "" {
		items = append(items, budget.Item{Kind: budget.KindSelection, Name: selectionName(ed), Text: ed.SelectionText, Priority: 1, Truncatable: true})
	}
	var current string
	haveCurrent := false
	if ed.Path != "" && files != nil {
		if t, err := files.ReadFile(ctx, ed.Path); err == nil {
			current, haveCurrent = t, true
		}
	}
	if haveCurrent && ed.Cursor != nil {
		items = append(items, budget.Item{Kind: budget.KindCursor, Name: fmt.Sprintf("%s:%d", ed.Path, ed.Cursor.Line+1),
			Text: region(current, ed.Cursor.Line, cursorLines), Priority: 2, Truncatable: true})
	}
	for i, m := range mentions {
		switch m.Kind {
		case "file":
			if files == nil {
				items = append(items, budget.Item{Kind: budget.KindMention, Name: m.Arg, Priority: 3,
					Text: "(not readable: this hub gives the AI no file access)"})
				continue
			}
			t, err := files.ReadFile(ctx, m.Arg)
			if err != nil {
				t = "(could not be read: it does not exist or you may not read it)"
			}
			items = append(items, budget.Item{Kind: budget.KindMention, Name: m.Arg, Text: t, Priority: 3 + i, Truncatable: true})
		case "symbol":
			if e.opts.Symbols == nil {
				items = append(items, budget.Item{Kind: budget.KindMention, Name: "@symbol:" + m.Arg, Priority: 3,
					Text: "(symbol lookup is not available yet on this hub)"})
				continue
			}
			syms, err := e.opts.Symbols.Lookup(ctx, ask.Project, ask.Author, m.Arg)
			var b strings.Builder
			if err != nil || len(syms) == 0 {
				b.WriteString("(no definition found)")
			}
			for _, s := range syms {
				fmt.Fprintf(&b, "%s:%d\n%s\n", s.Path, s.Line, s.Snippet)
			}
			items = append(items, budget.Item{Kind: budget.KindMention, Name: "@symbol:" + m.Arg, Text: b.String(), Priority: 3 + i, Truncatable: true})
		}
	}
	if haveCurrent {
		items = append(items, budget.Item{Kind: budget.KindFile, Name: ed.Path, Text: current, Priority: 20, Truncatable: true})
	}
	diags := ed.Diagnostics
	if len(diags) == 0 && e.opts.Problems != nil && (ask.Command == "fix" || mentioned(mentions, "problems")) {
		if ds, err := e.opts.Problems.Problems(ctx, ask.Project, ask.Author, ed.Path); err == nil {
			diags = ds
		}
	}
	if len(diags) > 0 {
		var b strings.Builder
		for _, d := range diags {
			fmt.Fprintf(&b, "%s:%d:%d: %s %s\n", d.Path, d.Range.Start.Line+1, d.Range.Start.Character+1, d.Severity, d.Message)
		}
		items = append(items, budget.Item{Kind: budget.KindDiagnostics, Name: "problems", Text: b.String(), Priority: 10, Truncatable: true})
	}
	// The asker's other open documents, most recent first, as far as the
	// budget allows; their names alone when there are many.
	n := 0
	for _, path := range ed.OpenDocuments {
		if path == ed.Path || files == nil {
			continue
		}
		if n == maxOpenDocuments {
			items = append(items, budget.Item{Kind: budget.KindOpenDocument, Name: "more open documents",
				Text: strings.Join(ed.OpenDocuments, "\n"), Priority: 45, Truncatable: true})
			break
		}
		t, err := files.ReadFile(ctx, path)
		if err != nil {
			continue
		}
		items = append(items, budget.Item{Kind: budget.KindOpenDocument, Name: path, Text: t, Priority: 40 + n, Truncatable: true})
		n++
	}
	return items
}

func selectionName(ed *EditorContext) string {
	if ed.Selection == nil {
		return ed.Path
	}
	return fmt.Sprintf("%s:%d-%d", ed.Path, ed.Selection.Start.Line+1, ed.Selection.End.Line+1)
}

// region returns the lines within n of line, marking the cursor's line.
func region(text string, line, n int) string {
	lines := strings.SplitAfter(text, "\n")
	lo, hi := max(line-n, 0), min(line+n+1, len(lines))
	if lo >= hi {
		return ""
	}
	var b strings.Builder
	for i := lo; i < hi; i++ {
		if i == line {
			b.WriteString(strings.TrimRight(lines[i], "\n") + "  <-- cursor\n")
			continue
		}
		b.WriteString(lines[i])
	}
	return b.String()
}

// collapseHistory reports the conversation history as one included and one
// omitted entry instead of one per message, so reports stay small however
// long the conversation.
func collapseHistory(rep *budget.Report, total int) {
	in, inTok, out, outTok := 0, 0, 0, 0
	keep := rep.Included[:0]
	for _, en := range rep.Included {
		if en.Kind == budget.KindHistory {
			in++
			inTok += en.Tokens
			continue
		}
		keep = append(keep, en)
	}
	rep.Included = keep
	keepOut := rep.Omitted[:0]
	for _, en := range rep.Omitted {
		if en.Kind == budget.KindHistory {
			out++
			outTok += en.Tokens
			continue
		}
		keepOut = append(keepOut, en)
	}
	rep.Omitted = keepOut
	if in > 0 {
		rep.Included = append(rep.Included, budget.Entry{Kind: budget.KindHistory, Name: fmt.Sprintf("%d of %d earlier messages", in, total), Tokens: inTok})
	}
	if out > 0 {
		rep.Omitted = append(rep.Omitted, budget.Entry{Kind: budget.KindHistory, Name: fmt.Sprintf("%d older messages", out), Tokens: outTok,
			Reason: "the budget was used by newer messages and the editor context"})
	}
}

func mentioned(ms []Mention, kind string) bool {
	for _, m := range ms {
		if m.Kind == kind {
			return true
		}
	}
	return false
}
