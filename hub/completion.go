package hub

import (
	"context"
	"encoding/json"
	"errors"
	"path"
	"strings"
	"time"

	"github.com/sourcegraph/conc"

	"github.com/rubberduckhub/rubberduck/hub/ai/complete"
	"github.com/rubberduckhub/rubberduck/hub/ai/provider"
	"github.com/rubberduckhub/rubberduck/hub/auth"
	"github.com/rubberduckhub/rubberduck/hub/crdt"
	"github.com/rubberduckhub/rubberduck/hub/ratelimit"
	"github.com/rubberduckhub/rubberduck/lsp/protocol"
)

// Inline completion handlers: textDocument/inlineCompletion (LSP 3.18, what
// VS Code, Neovim 0.12 and Copilot-style agents use) and, for older
// clients, the AI's suggestion as one item of textDocument/completion next
// to the language server's. Both read the document's live text at the
// cursor and delegate to hub/ai/complete, which debounces, cancels the
// person's previous request for the document and caches.

func (sess *session) inlineCompletion(ctx context.Context, p protocol.InlineCompletionParams) (protocol.InlineCompletionList, error) {
	out := protocol.InlineCompletionList{Items: []protocol.InlineCompletionItem{}}
	res, err := sess.aiComplete(ctx, p.TextDocument.URI, p.Position)
	if err != nil {
		return out, err
	}
	if res.Text != "" {
		out.Items = append(out.Items, protocol.InlineCompletionItem{InsertText: res.Text})
	}
	return out, nil
}

// aiComplete asks for a suggestion at pos (in the session's encoding) in
// the document named by uri.
func (sess *session) aiComplete(ctx context.Context, uri string, pos protocol.Position) (complete.Result, error) {
	ref, err := uriRef(uri)
	if err != nil {
		return complete.Result{}, err
	}
	if _, err := sess.authorize(ctx, ref.Project, auth.ActionRead); err != nil {
		return complete.Result{}, err
	}
	if err := sess.srv.deps.Limits.Allow(sess.ident.UserID, ref.Project, ratelimit.Read); err != nil {
		return complete.Result{}, err
	}
	if sess.srv.deps.Completion == nil {
		return complete.Result{}, protocol.Errorf(protocol.CodeUnavailable, "%s", provider.NotConfiguredMessage)
	}
	text, ok := sess.srv.docs.Text(ref)
	if !ok {
		root, err := sess.srv.workspaces.root(ctx, ref.Project)
		if err != nil {
			return complete.Result{}, err
		}
		f, err := root.Read(ctx, ref.Path)
		if err != nil {
			return complete.Result{}, err
		}
		if f.Encoding != "utf-8" {
			return complete.Result{}, protocol.Errorf(protocol.CodeUnsupported, "not a text file")
		}
		text = f.Content
	}
	off := byteOffset(text, pos, sess.positionEncoding())
	person := sess.aiPerson()
	res, err := sess.srv.deps.Completion.Complete(ctx, complete.Request{Project: ref.Project, Person: person,
		Path: ref.Path, Language: strings.TrimPrefix(path.Ext(ref.Path), "."), Prefix: text[:off], Suffix: text[off:]})
	if err != nil {
		sess.warnAI(person, err)
		return complete.Result{}, aiError(err)
	}
	return res, nil
}

// byteOffset turns an editor position into a byte offset of text; a
// position past the end of its line or of the text is clamped, as LSP
// asks servers to do.
func byteOffset(text string, pos protocol.Position, encoding string) int {
	start := 0
	for line := uint32(0); line < pos.Line; line++ {
		i := strings.IndexByte(text[start:], '\n')
		if i < 0 {
			return len(text)
		}
		start += i + 1
	}
	end := len(text)
	if i := strings.IndexByte(text[start:], '\n'); i >= 0 {
		end = start + i
	}
	unit := crdt.UTF16
	switch encoding {
	case protocol.EncodingUTF8:
		unit = crdt.UTF8
	case protocol.EncodingUTF32:
		unit = crdt.CodePoint
	}
	line := text[start:end]
	if int(pos.Character) >= crdt.Count(line, unit) {
		return end
	}
	n, err := crdt.Convert(line, int(pos.Character), unit, crdt.UTF8)
	if err != nil {
		return end // inside a character: no position to invent
	}
	return start + n
}

// warnAI tells a person once every few minutes per kind of failure why
// their completions do not appear: a completion that fails silently is
// what users of local models complain about most.
func (sess *session) warnAI(person string, err error) {
	kind := provider.KindOf(err)
	// A hub without AI says so on request; it does not nag everyone who
	// types (textDocument/completion also asks the AI).
	if kind == "" || kind == provider.KindCancelled || kind == provider.KindNotConfigured {
		return
	}
	l := sess.srv.deps.aiLink
	if l == nil {
		return
	}
	key := person + "\x00" + string(kind)
	now := time.Now()
	l.mu.Lock()
	if l.warned == nil {
		l.warned = make(map[string]time.Time)
	}
	last, seen := l.warned[key]
	tell := !seen || now.Sub(last) > 5*time.Minute
	if tell {
		l.warned[key] = now
	}
	l.mu.Unlock()
	if tell {
		sess.tell(protocol.MessageWarning, "RubberDuck AI completions: "+provider.UserMessage(err))
	}
}

// completionWithAI answers textDocument/completion with the language
// server's items (through hub/intel) plus the AI's suggestion as one more
// item that inserts at the cursor.
func completionWithAI() func(context.Context, *session, json.RawMessage) (any, error) {
	fromServer := lspTextDocument(protocol.MethodCompletion, false)
	return func(ctx context.Context, sess *session, raw json.RawMessage) (any, error) {
		var p protocol.CompletionParams
		if err := json.Unmarshal(raw, &p); err != nil {
			return nil, protocol.Errorf(protocol.CodeInvalidParams, "invalid params: %v", err)
		}
		var lsRes any
		var lsErr error
		var wg conc.WaitGroup
		wg.Go(func() { lsRes, lsErr = fromServer(ctx, sess, raw) })
		res, aiErr := sess.aiComplete(ctx, p.TextDocument.URI, p.Position)
		wg.Wait()

		list := struct {
			IsIncomplete bool              `json:"isIncomplete"`
			Items        []json.RawMessage `json:"items"`
		}{IsIncomplete: true, Items: []json.RawMessage{}}
		if lsErr == nil && lsRes != nil {
			if b, err := json.Marshal(lsRes); err == nil {
				if json.Unmarshal(b, &list.Items) != nil {
					_ = json.Unmarshal(b, &list)
					list.IsIncomplete = true
				}
			}
		}
		if aiErr != nil && len(list.Items) == 0 && lsErr != nil {
			var rpcErr *protocol.Error
			if errors.As(aiErr, &rpcErr) && rpcErr.Code != protocol.CodeRequestCancelled {
				return nil, aiErr
			}
		}
		if aiErr == nil && res.Text != "" {
			label, _, _ := strings.Cut(strings.TrimSpace(res.Text), "\n")
			if r := []rune(label); len(r) > 60 {
				label = string(r[:60]) + "…"
			}
			item, _ := json.Marshal(map[string]any{
				"label":            label,
				"kind":             1, // Text
				"detail":           "RubberDuck AI",
				"sortText":         "0",
				"insertTextFormat": 1, // plain text
				"textEdit":         map[string]any{"range": protocol.Range{Start: p.Position, End: p.Position}, "newText": res.Text},
			})
			list.Items = append(list.Items, item)
		}
		return list, nil
	}
}
