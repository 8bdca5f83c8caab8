package ai

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/rubberduckhub/rubberduck/hub/ai/propose"
	"github.com/rubberduckhub/rubberduck/hub/ai/provider"
)

// maxToolOutput bounds what one tool call hands back to the model.
const maxToolOutput = 24 << 10

func strSchema(desc string) map[string]any {
	return map[string]any{"type": "string", "description": desc}
}

// toolSpecs are the tools offered to the model. They run through Files with
// the asker's permissions, and each call is shown in the conversation.
var toolSpecs = []provider.ToolSpec{
	{Name: "read_file", Description: "Read a file of the project.",
		Schema: map[string]any{"type": "object", "properties": map[string]any{"path": strSchema("project-relative path")}, "required": []string{"path"}}},
	{Name: "list_dir", Description: "List a directory of the project (\"\" or \".\" for the root).",
		Schema: map[string]any{"type": "object", "properties": map[string]any{"path": strSchema("project-relative directory")}, "required": []string{"path"}}},
	{Name: "search", Description: "Search the project's files for a text; returns matching lines.",
		Schema: map[string]any{"type": "object", "properties": map[string]any{"query": strSchema("text to find")}, "required": []string{"query"}}},
	{Name: "propose_edit", Description: "Propose replacing lines of a file; people review the proposal. An empty search creates or appends.",
		Schema: map[string]any{"type": "object", "properties": map[string]any{
			"path":    strSchema("project-relative path"),
			"search":  strSchema("the exact existing lines to replace"),
			"replace": strSchema("the new lines"),
		}, "required": []string{"path", "search", "replace"}}},
}

// runTool executes one tool call, announcing it to the room before and
// after. It returns the text for the model and, for propose_edit, the edit.
func (e *Engine) runTool(ctx context.Context, reply *record, files Files, call provider.ToolCall) (string, bool, *propose.Replacement) {
	part := Part{Type: "tool", ID: call.ID, Name: call.Name, Args: safeArgs(call), Status: "running"}
	idx := len(reply.Parts)
	reply.Parts = append(reply.Parts, part)
	e.notify(ctx, reply.Project, MethodTool, map[string]any{"project": reply.Project, "messageId": reply.ID, "part": part})

	out, summary, rp, err := e.execTool(ctx, files, call)
	part.Status, part.Summary = "done", summary
	if err != nil {
		part.Status, part.Summary = "error", err.Error()
		out = "error: " + err.Error()
	}
	reply.Parts[idx] = part
	e.metrics.toolCalls.WithLabelValues(toolLabel(call.Name), part.Status).Inc()
	e.notify(ctx, reply.Project, MethodTool, map[string]any{"project": reply.Project, "messageId": reply.ID, "part": part})
	return out, err != nil, rp
}

// safeArgs keeps a call's arguments for display, except the bodies of
// proposed edits (file content is not for the conversation log).
func safeArgs(call provider.ToolCall) json.RawMessage {
	if call.Name != "propose_edit" {
		if len(call.Args) > 1024 || !json.Valid(call.Args) {
			return json.RawMessage(`{}`)
		}
		return call.Args
	}
	var a struct {
		Path string `json:"path"`
	}
	_ = json.Unmarshal(call.Args, &a)
	b, _ := json.Marshal(a)
	return b
}

// toolError is an error whose text is safe to show to people and the model.
type toolError string

func (t toolError) Error() string { return string(t) }

func (e *Engine) execTool(ctx context.Context, files Files, call provider.ToolCall) (out, summary string, rp *propose.Replacement, err error) {
	var a struct {
		Path    string `json:"path"`
		Query   string `json:"query"`
		Search  string `json:"search"`
		Replace string `json:"replace"`
	}
	if jerr := json.Unmarshal(call.Args, &a); jerr != nil {
		return "", "", nil, toolError("the arguments are not valid JSON")
	}
	if files == nil {
		return "", "", nil, toolError("file access is not available")
	}
	switch call.Name {
	case "read_file":
		t, ferr := files.ReadFile(ctx, a.Path)
		if ferr != nil {
			return "", "", nil, toolError(fmt.Sprintf("cannot read %s: it does not exist or you may not read it", a.Path))
		}
		lines := strings.Count(t, "\n")
		if len(t) > maxToolOutput {
			t = t[:maxToolOutput] + "\n[truncated]"
		}
		return t, fmt.Sprintf("read %s (%d lines)", a.Path, lines), nil, nil
	case "list_dir":
		ents, ferr := files.ListDir(ctx, a.Path)
		if ferr != nil {
			return "", "", nil, toolError(fmt.Sprintf("cannot list %s", a.Path))
		}
		var b strings.Builder
		for _, en := range ents {
			if en.IsDir {
				b.WriteString(en.Name + "/\n")
			} else {
				b.WriteString(en.Name + "\n")
			}
			if b.Len() > maxToolOutput {
				b.WriteString("[truncated]\n")
				break
			}
		}
		return b.String(), fmt.Sprintf("listed %s (%d entries)", displayDir(a.Path), len(ents)), nil, nil
	case "search":
		if strings.TrimSpace(a.Query) == "" {
			return "", "", nil, toolError("empty query")
		}
		hits, ferr := files.Search(ctx, a.Query, 100)
		if ferr != nil {
			return "", "", nil, toolError("the search failed")
		}
		var b strings.Builder
		for _, h := range hits {
			fmt.Fprintf(&b, "%s:%d: %s\n", h.Path, h.Line, strings.TrimSpace(h.Text))
			if b.Len() > maxToolOutput {
				b.WriteString("[truncated]\n")
				break
			}
		}
		return b.String(), fmt.Sprintf("searched for %q (%d matches)", a.Query, len(hits)), nil, nil
	case "propose_edit":
		if a.Path == "" {
			return "", "", nil, toolError("path is required")
		}
		return "The edit was recorded; it will be proposed to the room when your answer ends.",
			"edit proposed for " + a.Path, &propose.Replacement{Path: a.Path, Search: a.Search, Replace: a.Replace}, nil
	}
	return "", "", nil, toolError("unknown tool " + call.Name)
}

func displayDir(p string) string {
	if p == "" || p == "." {
		return "the project root"
	}
	return p
}

// toolLabel bounds the metric label to the tools we offer.
func toolLabel(name string) string {
	for _, t := range toolSpecs {
		if t.Name == name {
			return name
		}
	}
	return "unknown"
}
