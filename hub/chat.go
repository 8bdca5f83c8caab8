package hub

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"time"

	"github.com/rubberduckhub/rubberduck/hub/ai"
	"github.com/rubberduckhub/rubberduck/hub/ai/complete"
	"github.com/rubberduckhub/rubberduck/hub/ai/propose"
	"github.com/rubberduckhub/rubberduck/hub/ai/provider"
	"github.com/rubberduckhub/rubberduck/hub/ai/usage"
	"github.com/rubberduckhub/rubberduck/hub/auth"
	"github.com/rubberduckhub/rubberduck/hub/ratelimit"
	"github.com/rubberduckhub/rubberduck/lsp/protocol"
)

// Chat handlers: the project's shared AI conversation. Each authorises the
// caller in the project, decodes, and delegates to hub/ai, whose answers
// stream to the whole room as $/rubberduck/chat/* notifications
// (docs/ai.md).

// aiEngine authorises action in project and returns the AI engine.
func (sess *session) aiEngine(ctx context.Context, project string, action auth.Action) (*ai.Engine, error) {
	if err := requireField("project", project); err != nil {
		return nil, err
	}
	if _, err := sess.authorize(ctx, project, action); err != nil {
		return nil, err
	}
	if sess.srv.deps.AI == nil {
		return nil, protocol.Errorf(protocol.CodeUnavailable, "%s", provider.NotConfiguredMessage)
	}
	return sess.srv.deps.AI, nil
}

// editorContext converts the wire form of the asker's editor state; the
// two have the same JSON shape.
func editorContext(ed *protocol.ChatEditor) *ai.EditorContext {
	if ed == nil {
		return nil
	}
	b, err := json.Marshal(ed)
	if err != nil {
		return nil
	}
	var out ai.EditorContext
	if json.Unmarshal(b, &out) != nil {
		return nil
	}
	return &out
}

func (sess *session) chatSend(ctx context.Context, p protocol.ChatSendParams) (ai.SendResult, error) {
	eng, err := sess.aiEngine(ctx, p.Project, auth.ActionRead)
	if err != nil {
		return ai.SendResult{}, err
	}
	// Asking the AI costs money and model time; posting to the people in
	// the room costs a write.
	class := ratelimit.AI
	if p.NoReply {
		class = ratelimit.Write
	}
	if err := sess.srv.deps.Limits.Allow(sess.ident.UserID, p.Project, class); err != nil {
		return ai.SendResult{}, err
	}
	res, err := eng.Send(ctx, ai.SendRequest{Project: p.Project, Author: sess.aiPerson(), Text: p.Text,
		Editor: editorContext(p.Editor), NoReply: p.NoReply})
	return res, aiError(err)
}

func (sess *session) chatAction(ctx context.Context, p protocol.ChatActionParams) (ai.SendResult, error) {
	eng, err := sess.aiEngine(ctx, p.Project, auth.ActionRead)
	if err != nil {
		return ai.SendResult{}, err
	}
	if err := requireField("kind", p.Kind); err != nil {
		return ai.SendResult{}, err
	}
	if err := sess.srv.deps.Limits.Allow(sess.ident.UserID, p.Project, ratelimit.AI); err != nil {
		return ai.SendResult{}, err
	}
	res, err := eng.CodeAction(ctx, p.Kind, ai.SendRequest{Project: p.Project, Author: sess.aiPerson(), Text: p.Text,
		Editor: editorContext(p.Editor)})
	return res, aiError(err)
}

func (sess *session) chatCancel(ctx context.Context, p protocol.ChatRefParams) (any, error) {
	eng, err := sess.aiEngine(ctx, p.Project, auth.ActionRead)
	if err != nil {
		return nil, err
	}
	if err := requireField("messageId", p.MessageID); err != nil {
		return nil, err
	}
	return nil, aiError(eng.Cancel(ctx, p.Project, p.MessageID, sess.aiPerson()))
}

func (sess *session) chatRegenerate(ctx context.Context, p protocol.ChatRefParams) (ai.SendResult, error) {
	eng, err := sess.aiEngine(ctx, p.Project, auth.ActionRead)
	if err != nil {
		return ai.SendResult{}, err
	}
	if err := requireField("messageId", p.MessageID); err != nil {
		return ai.SendResult{}, err
	}
	if err := sess.srv.deps.Limits.Allow(sess.ident.UserID, p.Project, ratelimit.AI); err != nil {
		return ai.SendResult{}, err
	}
	res, err := eng.Regenerate(ctx, p.Project, p.MessageID, sess.aiPerson())
	return res, aiError(err)
}

func (sess *session) chatFeedback(ctx context.Context, p protocol.ChatFeedbackParams) (ai.Message, error) {
	eng, err := sess.aiEngine(ctx, p.Project, auth.ActionRead)
	if err != nil {
		return ai.Message{}, err
	}
	if err := requireField("messageId", p.MessageID); err != nil {
		return ai.Message{}, err
	}
	m, err := eng.Feedback(ctx, p.Project, p.MessageID, sess.aiPerson(), p.Rating, p.Comment)
	return m, aiError(err)
}

func (sess *session) chatHistory(ctx context.Context, p protocol.ChatHistoryParams) (ai.HistoryPage, error) {
	eng, err := sess.aiEngine(ctx, p.Project, auth.ActionRead)
	if err != nil {
		return ai.HistoryPage{}, err
	}
	page, err := eng.History(ctx, p.Project, ai.HistoryQuery{Before: p.Before, Limit: p.Limit, Query: p.Query})
	if err != nil {
		return ai.HistoryPage{}, aiError(err)
	}
	if page.Messages == nil {
		page.Messages = []ai.Message{}
	}
	return page, nil
}

// aiError maps the AI engine's errors onto protocol codes in one place.
// Provider failures keep their message, which is written for people and
// says what to do (configure a provider, check the key, wait, pick another
// model); they are never reported as internal errors.
func aiError(err error) error {
	if err == nil {
		return nil
	}
	if _, ok := protocol.AsError(err); ok {
		return err
	}
	var perr *provider.Error
	switch {
	case errors.As(err, &perr):
		data := map[string]any{"kind": string(perr.Kind), "provider": perr.Provider}
		code := int64(protocol.CodeUnavailable)
		switch perr.Kind {
		case provider.KindRateLimited, provider.KindQuota:
			code = protocol.CodeRateLimited
			if perr.RetryAfter > 0 {
				data["retryAfterMs"] = perr.RetryAfter.Milliseconds()
			}
		case provider.KindCancelled:
			code = protocol.CodeRequestCancelled
		case provider.KindBadRequest, provider.KindContextTooLarge:
			code = protocol.CodeInvalidParams
		}
		return protocol.Errorf(code, "%s", provider.UserMessage(perr)).WithData(data)
	case errors.Is(err, ai.ErrForbidden):
		return protocol.Errorf(protocol.CodeForbidden, "%s", trimAIPrefix(err))
	case errors.Is(err, ai.ErrInvalid), errors.Is(err, propose.ErrNoChange):
		return protocol.Errorf(protocol.CodeInvalidParams, "%s", trimAIPrefix(err))
	case errors.Is(err, ai.ErrNotFound):
		return protocol.Errorf(protocol.CodeNotFound, "no such message")
	case errors.Is(err, propose.ErrNotFound):
		return protocol.Errorf(protocol.CodeNotFound, "no such proposal or hunk")
	case errors.Is(err, propose.ErrNoDocuments):
		return protocol.Errorf(protocol.CodeUnavailable, "documents not available: this hub cannot apply edits")
	case errors.Is(err, ai.ErrClosed):
		return protocol.Errorf(protocol.CodeShuttingDown, "the hub is stopping")
	case errors.Is(err, complete.ErrSuperseded):
		return protocol.Errorf(protocol.CodeRequestCancelled, "superseded by a newer completion request")
	}
	return err // sandbox, auth and store errors: the hub's rpcError maps them
}

func trimAIPrefix(err error) string {
	s := err.Error()
	for _, p := range []string{"ai: ", "propose: "} {
		s = strings.TrimPrefix(s, p)
	}
	return s
}

// aiConfig reads a project's AI settings and, with Set, replaces its
// overrides. Models and completion settings are the project owners'
// choice; another provider or server is the hub admins' (the hub would
// send people's code, and make requests, wherever it points).
func (sess *session) aiConfig(ctx context.Context, p protocol.AIConfigParams) (protocol.AIConfigResult, error) {
	action := auth.ActionRead
	if p.Set != nil {
		action = auth.ActionAdmin
	}
	eng, err := sess.aiEngine(ctx, p.Project, action)
	if err != nil {
		return protocol.AIConfigResult{}, err
	}
	if p.Set != nil {
		cur, err := eng.GetProjectConfig(ctx, p.Project)
		if err != nil {
			return protocol.AIConfigResult{}, aiError(err)
		}
		if p.Set.Provider != cur.Provider || p.Set.BaseURL != cur.BaseURL {
			if err := sess.srv.deps.Auth.RequireAdmin(ctx, sess.ident); err != nil {
				return protocol.AIConfigResult{}, protocol.Errorf(protocol.CodeForbidden,
					"forbidden: only hub admins may change a project's AI provider or server")
			}
		}
		set := ai.ProjectConfig{Provider: p.Set.Provider, Model: p.Set.Model, BaseURL: p.Set.BaseURL,
			CompletionModel: p.Set.CompletionModel, FIM: p.Set.FIM, FIMTemplate: p.Set.FIMTemplate, ContextWindow: p.Set.ContextWindow}
		if err := eng.SetProjectConfig(ctx, p.Project, set); err != nil {
			if _, ok := protocol.AsError(err); !ok {
				return protocol.AIConfigResult{}, protocol.Errorf(protocol.CodeInvalidParams, "invalid AI configuration: %s", err.Error())
			}
			return protocol.AIConfigResult{}, err
		}
		sess.log.Info("project AI configuration changed", "project", p.Project, "model", p.Set.Model)
	}
	over, err := eng.GetProjectConfig(ctx, p.Project)
	if err != nil {
		return protocol.AIConfigResult{}, aiError(err)
	}
	_, cfg, err := eng.ProviderFor(ctx, p.Project)
	if err != nil {
		return protocol.AIConfigResult{}, aiError(err)
	}
	return protocol.AIConfigResult{
		Project: p.Project,
		Overrides: protocol.AIProjectConfig{Provider: over.Provider, Model: over.Model, BaseURL: over.BaseURL,
			CompletionModel: over.CompletionModel, FIM: over.FIM, FIMTemplate: over.FIMTemplate, ContextWindow: over.ContextWindow},
		Provider: cfg.Provider, Model: cfg.Model, CompletionModel: cfg.CompletionModel, FIM: cfg.FIM || cfg.FIMTemplate != "",
	}, nil
}

// aiUsage reports tokens spent: the caller's own, and for the project's
// owners every member's in this project.
func (sess *session) aiUsage(ctx context.Context, p protocol.AIUsageParams) (protocol.AIUsageResult, error) {
	eng, err := sess.aiEngine(ctx, p.Project, auth.ActionRead)
	if err != nil {
		return protocol.AIUsageResult{}, err
	}
	month := p.Month
	if month == "" {
		month = time.Now().UTC().Format("2006-01")
	} else if _, err := time.Parse("2006-01", month); err != nil {
		return protocol.AIUsageResult{}, protocol.Errorf(protocol.CodeInvalidParams, "invalid params: month must be YYYY-MM")
	}
	conv := func(t usage.Totals) protocol.AIUsageTotals {
		return protocol.AIUsageTotals{Person: t.Person, Requests: t.Requests, InputTokens: t.InputTokens,
			OutputTokens: t.OutputTokens, CostUSD: t.CostUSD}
	}
	me, err := eng.Usage().Person(ctx, sess.ident.UserName, month)
	if err != nil {
		return protocol.AIUsageResult{}, err
	}
	res := protocol.AIUsageResult{Month: month, You: conv(me)}
	res.You.Person = sess.ident.UserName
	if _, err := sess.srv.deps.Auth.Authorize(ctx, sess.ident, p.Project, auth.ActionAdmin); err == nil {
		people, total, err := eng.Usage().Project(ctx, p.Project, month)
		if err != nil {
			return protocol.AIUsageResult{}, err
		}
		for _, t := range people {
			res.People = append(res.People, conv(t))
		}
		tot := conv(total)
		res.Project = &tot
	}
	return res, nil
}
