package ai

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/rubberduckhub/rubberduck/hub/ai/propose"
	"github.com/rubberduckhub/rubberduck/hub/ai/provider"
)

// MaxMessageBytes bounds one message a person sends.
const MaxMessageBytes = 64 << 10

// SendRequest is a message from a person to a project's conversation.
type SendRequest struct {
	Project string
	Author  string
	Text    string
	// Editor is the asker's editor state, for context; nil for the CLI.
	Editor *EditorContext
	// NoReply posts a message for the people in the room without asking
	// the AI (people's own messages live in the same thread).
	NoReply bool
}

// SendResult names the stored question and, when the AI answers, the answer
// that is now streaming.
type SendResult struct {
	MessageID string `json:"messageId"`
	ReplyID   string `json:"replyId,omitempty"`
}

// run is one answer being generated.
type run struct {
	id, askID, project string
	cancel             context.CancelFunc
	done               chan struct{}
	mu                 sync.Mutex
	text               strings.Builder
	cancelledBy        string
}

func (r *run) snapshot() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.text.String()
}

func (e *Engine) active(id string) *run {
	e.mu.Lock()
	defer e.mu.Unlock()
	if r := e.runs[id]; r != nil {
		return r
	}
	return e.byAsk[id]
}

// ErrInvalid is wrapped by errors about a malformed request.
var ErrInvalid = errors.New("ai: invalid request")

// Send stores a person's message, broadcasts it, and unless it is a local
// command or NoReply starts the AI's answer, which streams to every
// connection of the project. It returns once the answer has started.
func (e *Engine) Send(ctx context.Context, req SendRequest) (SendResult, error) {
	if req.Project == "" || req.Author == "" {
		return SendResult{}, fmt.Errorf("%w: project and author are required", ErrInvalid)
	}
	if strings.TrimSpace(req.Text) == "" {
		return SendResult{}, fmt.Errorf("%w: empty message", ErrInvalid)
	}
	if len(req.Text) > MaxMessageBytes {
		return SendResult{}, fmt.Errorf("%w: message larger than %d bytes", ErrInvalid, MaxMessageBytes)
	}
	e.mu.Lock()
	closed := e.closed
	e.mu.Unlock()
	if closed {
		return SendResult{}, ErrClosed
	}
	name, rest := parseCommand(req.Text)
	cmd, known := lookupCommand(name)
	now := time.Now()
	ask := &record{Message: Message{ID: newID(), Project: req.Project, Author: req.Author, Role: RoleUser,
		Text: req.Text, Status: StatusDone, Command: cmd.Name, Created: now, Updated: now}, Editor: req.Editor}
	if err := e.save(ctx, ask); err != nil {
		return SendResult{}, err
	}
	e.notifyMessage(ctx, &ask.Message)
	res := SendResult{MessageID: ask.ID}
	if req.NoReply && name == "" {
		return res, nil
	}
	if name != "" && !known {
		id, err := e.localReply(ctx, ask, fmt.Sprintf("Unknown command /%s.\n\n%s", name, helpText()), "")
		res.ReplyID = id
		return res, err
	}
	if cmd.Local {
		id, err := e.runLocal(ctx, ask, cmd, rest)
		res.ReplyID = id
		return res, err
	}
	id, err := e.startAnswer(ctx, ask, "")
	res.ReplyID = id
	return res, err
}

// CodeAction asks for one of the code-action kinds (ActionExplain, ActionFix,
// ActionRefactor, ActionTest, ActionDocument) on the asker's selection; it is
// Send with the matching command, so the room sees it like any question.
func (e *Engine) CodeAction(ctx context.Context, kind string, req SendRequest) (SendResult, error) {
	c, ok := lookupCommand(kind)
	if !ok || c.Local {
		return SendResult{}, fmt.Errorf("%w: unknown code action %q", ErrInvalid, kind)
	}
	req.Text = strings.TrimSpace("/" + c.Name + " " + req.Text)
	return e.Send(ctx, req)
}

// Cancel stops an answer (by its id or the id of the question) for everyone:
// the provider's HTTP request is aborted and the answer ends as cancelled.
// Cancelling an answer that already ended is not an error.
func (e *Engine) Cancel(ctx context.Context, project, id, person string) error {
	r := e.active(id)
	if r == nil || r.project != project {
		if _, err := e.load(ctx, project, id); err != nil {
			return err
		}
		return nil
	}
	r.mu.Lock()
	r.cancelledBy = person
	r.mu.Unlock()
	r.cancel()
	return nil
}

// Regenerate asks the AI again for the question behind a message (an answer
// or the question itself). A new answer streams; the old one stays in the
// history. An answer still streaming is cancelled first.
func (e *Engine) Regenerate(ctx context.Context, project, id, person string) (SendResult, error) {
	m, err := e.load(ctx, project, id)
	if err != nil {
		return SendResult{}, err
	}
	old := ""
	if m.Role == RoleAssistant {
		old = m.ID
		if m.ReplyTo == "" {
			return SendResult{}, fmt.Errorf("%w: message %s answers no question", ErrInvalid, id)
		}
		if m, err = e.load(ctx, project, m.ReplyTo); err != nil {
			return SendResult{}, err
		}
	}
	if m.Role != RoleUser || isLocalCommand(m.Command) {
		return SendResult{}, fmt.Errorf("%w: message %s cannot be regenerated", ErrInvalid, id)
	}
	if r := e.active(m.ID); r != nil {
		r.mu.Lock()
		r.cancelledBy = person
		r.mu.Unlock()
		r.cancel()
		<-r.done
	}
	rid, err := e.startAnswer(ctx, m, old)
	return SendResult{MessageID: m.ID, ReplyID: rid}, err
}

// Feedback records one person's thumbs up/down ("up", "down", "" to
// withdraw) and comment on an answer, and shows the room the updated answer.
func (e *Engine) Feedback(ctx context.Context, project, id, person, rating, comment string) (Message, error) {
	if rating != "up" && rating != "down" && rating != "" {
		return Message{}, fmt.Errorf("%w: rating must be up, down or empty", ErrInvalid)
	}
	if len(comment) > 4096 {
		return Message{}, fmt.Errorf("%w: comment too long", ErrInvalid)
	}
	e.recMu.Lock()
	defer e.recMu.Unlock()
	m, err := e.load(ctx, project, id)
	if err != nil {
		return Message{}, err
	}
	if m.Role != RoleAssistant {
		return Message{}, fmt.Errorf("%w: feedback is for the AI's answers", ErrInvalid)
	}
	if m.Feedback == nil {
		m.Feedback = map[string]Feedback{}
	}
	if rating == "" && comment == "" {
		delete(m.Feedback, person)
	} else {
		m.Feedback[person] = Feedback{Rating: rating, Comment: comment, At: time.Now()}
	}
	if err := e.save(ctx, m); err != nil {
		return Message{}, err
	}
	e.notifyMessage(ctx, &m.Message)
	return m.Message, nil
}

// Wait blocks until an answer has ended (or ctx ends) and returns it; the
// CLI's `rubberduck ask` uses it after Send, while the deltas stream as
// notifications.
func (e *Engine) Wait(ctx context.Context, project, replyID string) (Message, error) {
	if r := e.active(replyID); r != nil {
		select {
		case <-r.done:
		case <-ctx.Done():
			return Message{}, ctx.Err()
		}
	}
	m, err := e.load(ctx, project, replyID)
	if err != nil {
		return Message{}, err
	}
	return m.Message, nil
}

func (e *Engine) notifyMessage(ctx context.Context, m *Message) {
	e.notify(ctx, m.Project, MethodMessage, map[string]any{"project": m.Project, "message": m})
}

// localReply stores and broadcasts an answer the hub writes itself.
func (e *Engine) localReply(ctx context.Context, ask *record, text, errKind string) (string, error) {
	now := time.Now()
	r := &record{Message: Message{ID: newID(), Project: ask.Project, Author: AIAuthor, Role: RoleAssistant,
		Text: text, Status: StatusDone, ReplyTo: ask.ID, AskedBy: ask.Author, Command: ask.Command, Created: now, Updated: now}}
	if errKind != "" {
		r.Status = StatusError
		r.Error = text
		r.ErrorKind = errKind
	}
	if err := e.save(ctx, r); err != nil {
		return "", err
	}
	e.notifyMessage(ctx, &r.Message)
	return r.ID, nil
}

func (e *Engine) runLocal(ctx context.Context, ask *record, cmd Command, arg string) (string, error) {
	switch cmd.Name {
	case "help":
		return e.localReply(ctx, ask, helpText(), "")
	case "clear":
		now := time.Now()
		r := &record{Message: Message{ID: newID(), Project: ask.Project, Author: ask.Author, Role: RoleSystem,
			Text: ask.Author + " cleared the conversation; the AI starts afresh.", Status: StatusDone, Command: "clear", ReplyTo: ask.ID, Created: now, Updated: now}}
		if err := e.save(ctx, r); err != nil {
			return "", err
		}
		e.notifyMessage(ctx, &r.Message)
		return r.ID, nil
	case "model":
		_, cfg, err := e.ProviderFor(ctx, ask.Project)
		if err != nil {
			return e.localReply(ctx, ask, provider.UserMessage(err), string(provider.KindOf(err)))
		}
		if arg == "" {
			if cfg.Provider == "" {
				return e.localReply(ctx, ask, provider.NotConfiguredMessage, string(provider.KindNotConfigured))
			}
			return e.localReply(ctx, ask, fmt.Sprintf("This project uses %s model %q (context window %d tokens).", cfg.Provider, cfg.Model, e.window(cfg, cfg.Model)), "")
		}
		if e.opts.CanConfigure != nil && !e.opts.CanConfigure(ctx, ask.Project, ask.Author) {
			return e.localReply(ctx, ask, "You may not change this project's model.", "permission")
		}
		pc, err := e.GetProjectConfig(ctx, ask.Project)
		if err != nil {
			return "", err
		}
		pc.Model = arg
		if err := e.SetProjectConfig(ctx, ask.Project, pc); err != nil {
			return e.localReply(ctx, ask, "Cannot switch the model: "+err.Error(), string(provider.KindNotConfigured))
		}
		return e.localReply(ctx, ask, fmt.Sprintf("%s switched this project's model to %q.", ask.Author, arg), "")
	case "search":
		if arg == "" {
			return e.localReply(ctx, ask, "Usage: /search <text>", "")
		}
		if e.opts.Files == nil {
			return e.localReply(ctx, ask, "File search is not available on this hub.", "")
		}
		files, err := e.opts.Files.For(ctx, ask.Project, ask.Author)
		if err != nil {
			return e.localReply(ctx, ask, "You cannot search this project's files.", "permission")
		}
		hits, err := files.Search(ctx, arg, 50)
		if err != nil {
			return e.localReply(ctx, ask, "The search failed.", "search")
		}
		var b strings.Builder
		fmt.Fprintf(&b, "%d matches for %q", len(hits), arg)
		if len(hits) == 50 {
			b.WriteString(" (first 50)")
		}
		b.WriteString(":\n")
		for _, h := range hits {
			fmt.Fprintf(&b, "%s:%d: %s\n", h.Path, h.Line, strings.TrimSpace(h.Text))
		}
		return e.localReply(ctx, ask, b.String(), "")
	}
	return e.localReply(ctx, ask, helpText(), "")
}

// startAnswer creates the streaming answer to ask and starts generating it.
func (e *Engine) startAnswer(ctx context.Context, ask *record, regenerates string) (string, error) {
	now := time.Now()
	reply := &record{Message: Message{ID: newID(), Project: ask.Project, Author: AIAuthor, Role: RoleAssistant,
		Status: StatusStreaming, ReplyTo: ask.ID, Regenerates: regenerates, AskedBy: ask.Author, Command: ask.Command,
		Created: now, Updated: now}}
	if err := e.usage.Check(ctx, ask.Author); err != nil {
		reply.Status = StatusError
		reply.Text = provider.UserMessage(err)
		reply.Error = reply.Text
		reply.ErrorKind = string(provider.KindOf(err))
		if err := e.save(ctx, reply); err != nil {
			return "", err
		}
		e.notifyMessage(ctx, &reply.Message)
		return reply.ID, nil
	}
	if err := e.save(ctx, reply); err != nil {
		return "", err
	}
	e.notifyMessage(ctx, &reply.Message)
	// Registering the run and starting its goroutine happen under the lock
	// Close takes, so no goroutine starts after Close began waiting.
	e.mu.Lock()
	if e.closed {
		e.mu.Unlock()
		reply.Status, reply.Error = StatusCancelled, "Stopped: the hub is shutting down."
		if err := e.save(ctx, reply); err != nil {
			return "", err
		}
		e.notifyMessage(ctx, &reply.Message)
		return reply.ID, ErrClosed
	}
	rctx, cancel := context.WithCancel(e.ctx)
	r := &run{id: reply.ID, askID: ask.ID, project: ask.Project, cancel: cancel, done: make(chan struct{})}
	e.runs[reply.ID] = r
	e.byAsk[ask.ID] = r
	e.wg.Go(func() {
		defer e.finishRun(r)
		e.generate(rctx, r, ask, reply)
	})
	e.mu.Unlock()
	return reply.ID, nil
}

func (e *Engine) finishRun(r *run) {
	r.cancel()
	e.mu.Lock()
	if e.runs[r.id] == r {
		delete(e.runs, r.id)
	}
	if e.byAsk[r.askID] == r {
		delete(e.byAsk, r.askID)
	}
	e.mu.Unlock()
	select {
	case <-r.done:
	default:
		close(r.done)
	}
}

// generate produces one answer: context, model call with tools, proposals,
// usage, and the final message. It always ends with a final message.
func (e *Engine) generate(ctx context.Context, r *run, ask, reply *record) {
	start := time.Now()
	prov, cfg, err := e.ProviderFor(ctx, ask.Project)
	var files Files
	if err == nil && e.opts.Files != nil {
		if f, ferr := e.opts.Files.For(ctx, ask.Project, ask.Author); ferr == nil {
			files = f
		}
	}
	var (
		total provider.Usage
		repls []propose.Replacement
	)
	if err == nil {
		reply.Model = cfg.Model
		var preq provider.Request
		preq, reply.Context, err = e.buildPrompt(ctx, ask, cfg, files)
		if err == nil {
			total, repls, err = e.converse(ctx, r, prov, preq, reply, files)
		}
	}
	text := r.snapshot()
	pctx, cancel := persistCtx(ctx)
	defer cancel()
	reply.Text = text
	reply.Usage = &total
	switch {
	case ctx.Err() != nil:
		reply.Status = StatusCancelled
		r.mu.Lock()
		by := r.cancelledBy
		r.mu.Unlock()
		if by != "" {
			reply.Error = "Stopped by " + by + "."
		} else {
			reply.Error = "Stopped: the hub is shutting down."
		}
	case err != nil:
		reply.Status = StatusError
		reply.Error = provider.UserMessage(err)
		reply.ErrorKind = string(provider.KindOf(err))
		if reply.ErrorKind == "" {
			e.log.Error("ai answer failed", "project", ask.Project, "message", reply.ID, "err", err)
		} else {
			e.log.Warn("ai provider error", "project", ask.Project, "message", reply.ID, "kind", reply.ErrorKind, "status", statusOf(err))
		}
		if text == "" {
			reply.Text = reply.Error
		}
	case strings.TrimSpace(text) == "" && len(repls) == 0:
		reply.Status = StatusError
		reply.Error = "The model returned an empty answer. A local model may have run out of context or be misconfigured."
		reply.ErrorKind = "empty"
		reply.Text = reply.Error
	default:
		reply.Status = StatusDone
	}
	if reply.Status == StatusDone {
		repls = append(repls, propose.ParseReplacements(text, editorPath(ask.Editor))...)
		e.makeProposals(pctx, ask, reply, files, repls)
	}
	if total.InputTokens+total.OutputTokens > 0 {
		if uerr := e.usage.Record(pctx, ask.Project, ask.Author, reply.Model, total); uerr != nil {
			e.log.Warn("ai usage not recorded", "project", ask.Project, "err", uerr)
		}
	}
	reply.Updated = time.Now()
	e.recMu.Lock() // Feedback may have been given while the answer streamed
	if stored, lerr := e.load(pctx, reply.Project, reply.ID); lerr == nil {
		reply.Feedback = stored.Feedback
	}
	err = e.save(pctx, reply)
	e.recMu.Unlock()
	if err != nil {
		e.log.Error("ai answer not saved", "project", ask.Project, "message", reply.ID, "err", err)
	}
	e.notifyMessage(pctx, &reply.Message)
	e.metrics.answers.WithLabelValues(string(reply.Status), reply.ErrorKind).Inc()
	e.metrics.tokens.WithLabelValues("input").Add(float64(total.InputTokens))
	e.metrics.tokens.WithLabelValues("output").Add(float64(total.OutputTokens))
	e.log.Debug("ai answer finished", "project", ask.Project, "message", reply.ID, "status", reply.Status,
		"inputTokens", total.InputTokens, "outputTokens", total.OutputTokens, "elapsed", time.Since(start))
}

func statusOf(err error) int {
	var pe *provider.Error
	if errors.As(err, &pe) {
		return pe.Status
	}
	return 0
}

func editorPath(ed *EditorContext) string {
	if ed == nil {
		return ""
	}
	return ed.Path
}

// converse calls the model, runs the tools it asks for and calls it again,
// up to MaxToolRounds times.
func (e *Engine) converse(ctx context.Context, r *run, prov provider.Provider, preq provider.Request, reply *record, files Files) (provider.Usage, []propose.Replacement, error) {
	var total provider.Usage
	var repls []propose.Replacement
	start := time.Now()
	first := true
	deltas := newBatcher(deltaInterval, func(text string) {
		e.notify(ctx, reply.Project, MethodDelta, deltaParams{Project: reply.Project, MessageID: reply.ID, Text: text})
	})
	defer deltas.close()
	onText := func(d string) error {
		if first {
			first = false
			e.metrics.firstToken.Observe(time.Since(start).Seconds())
		}
		r.mu.Lock()
		r.text.WriteString(d)
		r.mu.Unlock()
		deltas.add(d)
		return nil
	}
	if files != nil && !e.opts.DisableTools {
		preq.Tools = toolSpecs
	}
	for round := 0; ; round++ {
		res, err := prov.Chat(ctx, preq, onText)
		total = total.Add(res.Usage)
		if err != nil {
			return total, repls, err
		}
		if len(res.ToolCalls) == 0 {
			return total, repls, nil
		}
		if round >= e.opts.MaxToolRounds {
			onText("\n\n(Stopped after too many tool calls.)")
			return total, repls, nil
		}
		preq.Messages = append(preq.Messages, provider.Message{Role: provider.RoleAssistant, ToolCalls: res.ToolCalls})
		deltas.flush() // the room sees the text before the tool calls it led to
		for _, call := range res.ToolCalls {
			out, isErr, rp := e.runTool(ctx, reply, files, call)
			if rp != nil {
				repls = append(repls, *rp)
			}
			preq.Messages = append(preq.Messages, provider.Message{Role: provider.RoleTool, ToolCallID: call.ID, Text: out, IsError: isErr})
		}
	}
}

// deltaParams is the $/rubberduck/chat/delta payload; a struct keeps the
// per-token encoding cheap.
type deltaParams struct {
	Project   string `json:"project"`
	MessageID string `json:"messageId"`
	Text      string `json:"text"`
}

// makeProposals turns the answer's edits into proposals, one per file.
func (e *Engine) makeProposals(ctx context.Context, ask, reply *record, files Files, repls []propose.Replacement) {
	if len(repls) == 0 {
		return
	}
	var order []string
	byPath := map[string][]propose.Replacement{}
	for _, rp := range repls {
		if rp.Path == "" {
			reply.Parts = append(reply.Parts, Part{Type: "note", Status: "error", Summary: "An edit named no file; it was not proposed."})
			continue
		}
		if _, ok := byPath[rp.Path]; !ok {
			order = append(order, rp.Path)
		}
		byPath[rp.Path] = append(byPath[rp.Path], rp)
	}
	for _, path := range order {
		before, err := e.currentText(ctx, ask.Project, path, files)
		if err != nil {
			before = "" // a new file
		}
		after := before
		for _, rp := range byPath[path] {
			next, _, ok := propose.ApplyReplacement(after, rp)
			if !ok {
				reply.Parts = append(reply.Parts, Part{Type: "note", Status: "error", Name: path,
					Summary: "An edit to " + path + " does not match the file; it was not proposed."})
				continue
			}
			after = next
		}
		p, err := e.proposals.Create(ctx, ask.Project, path, reply.ID, ask.Author, commandTitle(ask.Command), before, after)
		if err != nil {
			if !errors.Is(err, propose.ErrNoChange) {
				e.log.Warn("ai proposal not created", "project", ask.Project, "err", err)
			}
			continue
		}
		reply.Proposals = append(reply.Proposals, p.ID)
	}
}

func commandTitle(c string) string {
	if c == "" {
		return "AI edit"
	}
	return "/" + c
}

func (e *Engine) currentText(ctx context.Context, project, path string, files Files) (string, error) {
	if e.opts.Documents != nil {
		if t, _, err := e.opts.Documents.Text(ctx, project, path); err == nil {
			return t, nil
		}
	}
	if files != nil {
		return files.ReadFile(ctx, path)
	}
	return "", ErrNotFound
}
