package protocol

import (
	"encoding/json"
	"time"
)

// The shared AI conversation of a project, its edit proposals, and inline
// completions. Everyone joined to a project sees the same conversation:
// a question goes in with rubberduck/chat/send, and the AI's answer streams
// to every connection of the project as $/rubberduck/chat/delta
// notifications, framed by $/rubberduck/chat/message notifications that carry
// the whole message whenever its state changes (streaming, then done,
// cancelled or error). docs/ai.md describes every message.
const (
	// MethodChatSend (request) posts a message and starts the AI's answer.
	MethodChatSend = "rubberduck/chat/send"
	// MethodChatCancel (request) stops an answer for everyone.
	MethodChatCancel = "rubberduck/chat/cancel"
	// MethodChatRegenerate (request) asks again; a new answer streams.
	MethodChatRegenerate = "rubberduck/chat/regenerate"
	// MethodChatFeedback (request) rates an answer (thumbs up or down).
	MethodChatFeedback = "rubberduck/chat/feedback"
	// MethodChatHistory (request) pages through the conversation.
	MethodChatHistory = "rubberduck/chat/history"
	// MethodChatAction (request) runs a code action (explain, fix,
	// refactor, test, doc) on the asker's selection.
	MethodChatAction = "rubberduck/chat/action"
	// MethodProposalResolve (request) accepts or rejects hunks of an edit
	// proposal; writers only.
	MethodProposalResolve = "rubberduck/proposal/resolve"
	// MethodProposalList (request) lists proposals with pending hunks.
	MethodProposalList = "rubberduck/proposal/list"

	// MethodChatDelta (notification, hub to client) carries streamed text
	// of an answer, to be appended to the message's text.
	MethodChatDelta = "$/rubberduck/chat/delta"
	// MethodChatMessage (notification, hub to client) carries a whole
	// message each time it is created or changes state.
	MethodChatMessage = "$/rubberduck/chat/message"
	// MethodChatTool (notification, hub to client) shows a step of an
	// answer: a tool call the model made, or a note.
	MethodChatTool = "$/rubberduck/chat/tool"
	// MethodProposal (notification, hub to client) carries a proposal each
	// time it is created or one of its hunks is resolved.
	MethodProposal = "$/rubberduck/proposal"
)

// Chat message roles and states.
const (
	ChatRoleUser      = "user"
	ChatRoleAssistant = "assistant"
	ChatRoleSystem    = "system"

	ChatStreaming = "streaming"
	ChatDone      = "done"
	ChatCancelled = "cancelled"
	ChatError     = "error"
)

// Code-action kinds for rubberduck/chat/action.
const (
	ChatActionExplain  = "explain"
	ChatActionFix      = "fix"
	ChatActionRefactor = "refactor"
	ChatActionTest     = "test"
	ChatActionDocument = "doc"
)

// ChatEditor is what the asker's editor knows when they ask; every field is
// optional (the CLI sends none). Positions are in the connection's
// negotiated encoding; the hub only uses their lines.
type ChatEditor struct {
	Path          string           `json:"path,omitempty"`
	Selection     *Range           `json:"selection,omitempty"`
	SelectionText string           `json:"selectionText,omitempty"`
	Cursor        *Position        `json:"cursor,omitempty"`
	OpenDocuments []string         `json:"openDocuments,omitempty"`
	Diagnostics   []ChatDiagnostic `json:"diagnostics,omitempty"`
	Language      string           `json:"language,omitempty"`
}

// ChatDiagnostic is a problem the editor shows, sent as context for /fix.
type ChatDiagnostic struct {
	Path     string `json:"path"`
	Range    Range  `json:"range"`
	Severity string `json:"severity,omitempty"` // error, warning, info, hint
	Message  string `json:"message"`
	Source   string `json:"source,omitempty"`
}

// ChatSendParams posts a message to a project's conversation. Text may be a
// slash command (/help, /explain, /fix, /model...) and may mention context
// with @file:path, @symbol:Name, @selection or @problems.
type ChatSendParams struct {
	Project string      `json:"project"`
	Text    string      `json:"text"`
	Editor  *ChatEditor `json:"editor,omitempty"`
	// NoReply posts a message for the people in the room without asking
	// the AI.
	NoReply bool `json:"noReply,omitempty"`
}

// ChatSendResult names the stored question and, when the AI answers, the
// answer now streaming (follow its deltas by this id).
type ChatSendResult struct {
	MessageID string `json:"messageId"`
	ReplyID   string `json:"replyId,omitempty"`
}

// ChatRefParams names one message: an answer, or the question behind it.
type ChatRefParams struct {
	Project   string `json:"project"`
	MessageID string `json:"messageId"`
}

// ChatFeedbackParams rates an answer: rating "up", "down", or "" with an
// empty comment to withdraw one's rating.
type ChatFeedbackParams struct {
	Project   string `json:"project"`
	MessageID string `json:"messageId"`
	Rating    string `json:"rating"`
	Comment   string `json:"comment,omitempty"`
}

// ChatHistoryParams pages through a conversation, newest page first.
type ChatHistoryParams struct {
	Project string `json:"project"`
	Before  string `json:"before,omitempty"` // a message id; empty: the newest page
	Limit   int    `json:"limit,omitempty"`  // default 50, at most 500
	Query   string `json:"query,omitempty"`  // case-insensitive text search
}

// ChatHistoryResult is one page in chronological order; Next is the Before
// of the following (older) page, empty at the beginning.
type ChatHistoryResult struct {
	Messages []ChatMessage `json:"messages"`
	Next     string        `json:"next,omitempty"`
}

// ChatActionParams runs a code action on the asker's selection; Text adds
// to the action's instruction ("/fix" + " the off-by-one").
type ChatActionParams struct {
	Project string      `json:"project"`
	Kind    string      `json:"kind"`
	Editor  *ChatEditor `json:"editor,omitempty"`
	Text    string      `json:"text,omitempty"`
}

// ChatMessage is one entry of a project's shared conversation.
type ChatMessage struct {
	ID          string `json:"id"`
	Project     string `json:"project"`
	Author      string `json:"author"`
	Role        string `json:"role"`
	Text        string `json:"text"`
	Status      string `json:"status"`
	Command     string `json:"command,omitempty"`
	ReplyTo     string `json:"replyTo,omitempty"`
	Regenerates string `json:"regenerates,omitempty"`
	AskedBy     string `json:"askedBy,omitempty"`
	Model       string `json:"model,omitempty"`
	// Error is a sentence for people (never a stack or a key); ErrorKind
	// classifies it: not_configured, auth, rate_limited, model_not_found,
	// context_too_large, unreachable, overloaded, server, bad_request,
	// circuit_open, cancelled, quota, unsupported.
	Error     string                  `json:"error,omitempty"`
	ErrorKind string                  `json:"errorKind,omitempty"`
	Parts     []ChatPart              `json:"parts,omitempty"`
	Context   *ChatContext            `json:"context,omitempty"`
	Usage     *ChatUsage              `json:"usage,omitempty"`
	Proposals []string                `json:"proposals,omitempty"`
	Feedback  map[string]ChatFeedback `json:"feedback,omitempty"`
	Created   time.Time               `json:"created"`
	Updated   time.Time               `json:"updated"`
}

// ChatPart is a step of an answer: a tool call or a note.
type ChatPart struct {
	Type    string          `json:"type"` // "tool" or "note"
	ID      string          `json:"id,omitempty"`
	Name    string          `json:"name,omitempty"`
	Args    json.RawMessage `json:"args,omitempty"`
	Status  string          `json:"status,omitempty"` // running, done, error
	Summary string          `json:"summary,omitempty"`
}

// ChatContext says what the model saw of the project, under which token
// budget, and what was left out and why: nothing is dropped silently.
type ChatContext struct {
	Model    string             `json:"model,omitempty"`
	Window   int                `json:"window"`
	Budget   int                `json:"budget"`
	Used     int                `json:"used"`
	Included []ChatContextEntry `json:"included"`
	Omitted  []ChatContextEntry `json:"omitted,omitempty"`
}

// ChatContextEntry is one piece of context in a ChatContext.
type ChatContextEntry struct {
	Kind      string `json:"kind"`
	Name      string `json:"name"`
	Tokens    int    `json:"tokens"`
	Truncated bool   `json:"truncated,omitempty"`
	Reason    string `json:"reason,omitempty"`
}

// ChatUsage is what an answer cost, in tokens as the provider counted them.
type ChatUsage struct {
	InputTokens  int `json:"inputTokens"`
	OutputTokens int `json:"outputTokens"`
}

// ChatFeedback is one person's rating of an answer.
type ChatFeedback struct {
	Rating  string    `json:"rating"`
	Comment string    `json:"comment,omitempty"`
	At      time.Time `json:"at"`
}

// ChatDeltaParams is $/rubberduck/chat/delta: text to append to a streaming
// answer.
type ChatDeltaParams struct {
	Project   string `json:"project"`
	MessageID string `json:"messageId"`
	Text      string `json:"text"`
}

// ChatMessageParams is $/rubberduck/chat/message.
type ChatMessageParams struct {
	Project string      `json:"project"`
	Message ChatMessage `json:"message"`
}

// ChatToolParams is $/rubberduck/chat/tool.
type ChatToolParams struct {
	Project   string   `json:"project"`
	MessageID string   `json:"messageId"`
	Part      ChatPart `json:"part"`
}

// ProposalResolveParams accepts or rejects one hunk of a proposal, or every
// pending hunk when Hunk is absent (or negative).
type ProposalResolveParams struct {
	Project string `json:"project"`
	ID      string `json:"id"`
	Hunk    *int   `json:"hunk,omitempty"`
	Accept  bool   `json:"accept"`
}

// ProposalListResult lists proposals that still have pending hunks.
type ProposalListResult struct {
	Proposals []Proposal `json:"proposals"`
}

// Hunk states of a proposal. Conflict: the hunk's lines are no longer in the
// document, so it was not applied (Reason says why).
const (
	HunkPending  = "pending"
	HunkAccepted = "accepted"
	HunkRejected = "rejected"
	HunkConflict = "conflict"
)

// Proposal is the AI's suggested change to one file, in hunks.
type Proposal struct {
	ID        string         `json:"id"`
	Project   string         `json:"project"`
	Path      string         `json:"path"`
	MessageID string         `json:"messageId,omitempty"`
	Author    string         `json:"author"`
	Title     string         `json:"title,omitempty"`
	Hunks     []ProposalHunk `json:"hunks"`
	Created   time.Time      `json:"created"`
}

// ProposalHunk is one reviewable change: Diff is its unified diff, Old and
// New the lines it replaces and puts in their place. Match says how
// leniently the lines were found when accepted: exact, whitespace or
// indentation.
type ProposalHunk struct {
	Index      int    `json:"index"`
	Diff       string `json:"diff"`
	OldStart   int    `json:"oldStart"`
	Status     string `json:"status"`
	Match      string `json:"match,omitempty"`
	Reason     string `json:"reason,omitempty"`
	ResolvedBy string `json:"resolvedBy,omitempty"`
	Old        string `json:"old"`
	New        string `json:"new"`
}

// ProposalParams is $/rubberduck/proposal.
type ProposalParams struct {
	Project  string   `json:"project"`
	Proposal Proposal `json:"proposal"`
}

// InlineCompletionParams is LSP 3.18's textDocument/inlineCompletion
// request, with uri rubberduck://<project>/<path> and the position in the
// connection's negotiated encoding.
type InlineCompletionParams struct {
	TextDocument TextDocumentIdentifier  `json:"textDocument"`
	Position     Position                `json:"position"`
	Context      InlineCompletionContext `json:"context"`
}

// InlineCompletionContext says why completion was asked for: 1 invoked
// explicitly, 2 automatically while typing.
type InlineCompletionContext struct {
	TriggerKind            int                     `json:"triggerKind"`
	SelectedCompletionInfo *SelectedCompletionInfo `json:"selectedCompletionInfo,omitempty"`
}

// SelectedCompletionInfo is the item selected in the completion widget.
type SelectedCompletionInfo struct {
	Range Range  `json:"range"`
	Text  string `json:"text"`
}

// InlineCompletionList answers textDocument/inlineCompletion; no items
// means no suggestion.
type InlineCompletionList struct {
	Items []InlineCompletionItem `json:"items"`
}

// InlineCompletionItem is one suggestion: InsertText goes in at the cursor,
// or replaces Range when set.
type InlineCompletionItem struct {
	InsertText string `json:"insertText"`
	FilterText string `json:"filterText,omitempty"`
	Range      *Range `json:"range,omitempty"`
}

// CompletionParams is textDocument/completion's params, for clients without
// inline completion (the hub then offers the AI's suggestion as one item).
type CompletionParams struct {
	TextDocument TextDocumentIdentifier `json:"textDocument"`
	Position     Position               `json:"position"`
}

// AI settings and usage of a project.
const (
	// MethodAIConfig (request) reads a project's AI settings and, with Set,
	// changes its overrides: owners may change models and completion
	// settings; only hub admins may point a project at another provider or
	// server.
	MethodAIConfig = "rubberduck/ai/config"
	// MethodAIUsage (request) reports tokens spent in a month: the caller's
	// own, and every member's for the project's owners.
	MethodAIUsage = "rubberduck/ai/usage"
)

// AIProjectConfig is what a project may override of the hub's AI
// configuration. Keys are never per project.
type AIProjectConfig struct {
	Provider        string `json:"provider,omitempty"`
	Model           string `json:"model,omitempty"`
	BaseURL         string `json:"baseURL,omitempty"`
	CompletionModel string `json:"completionModel,omitempty"`
	FIM             bool   `json:"fim,omitempty"`
	FIMTemplate     string `json:"fimTemplate,omitempty"`
	ContextWindow   int    `json:"contextWindow,omitempty"`
}

// AIConfigParams reads, or with Set replaces, a project's overrides.
type AIConfigParams struct {
	Project string           `json:"project"`
	Set     *AIProjectConfig `json:"set,omitempty"`
}

// AIConfigResult is a project's overrides and what is in effect. BaseURL
// is only shown when the project overrides it (the hub's own endpoint may
// be internal).
type AIConfigResult struct {
	Project         string          `json:"project"`
	Overrides       AIProjectConfig `json:"overrides"`
	Provider        string          `json:"provider"` // "" or "none": not configured
	Model           string          `json:"model,omitempty"`
	CompletionModel string          `json:"completionModel,omitempty"`
	FIM             bool            `json:"fim,omitempty"`
}

// AIUsageParams asks for a month's usage ("2006-01"; empty: this month, UTC).
type AIUsageParams struct {
	Project string `json:"project"`
	Month   string `json:"month,omitempty"`
}

// AIUsageTotals is one person's (or the project's) usage in a month; the
// cost is an estimate from list prices (local models cost nothing).
type AIUsageTotals struct {
	Person       string  `json:"person,omitempty"`
	Requests     int64   `json:"requests"`
	InputTokens  int64   `json:"inputTokens"`
	OutputTokens int64   `json:"outputTokens"`
	CostUSD      float64 `json:"costUSD"`
}

// AIUsageResult answers rubberduck/ai/usage. You is the caller's usage
// across projects; People and Project (this project's) are for owners only.
type AIUsageResult struct {
	Month   string          `json:"month"`
	You     AIUsageTotals   `json:"you"`
	People  []AIUsageTotals `json:"people,omitempty"`
	Project *AIUsageTotals  `json:"project,omitempty"`
}
