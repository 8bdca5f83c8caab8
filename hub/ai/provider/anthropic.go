package provider

import (
	"context"
	"encoding/json"
	"errors"
	"os"

	"github.com/anthropics/anthropic-sdk-go/v2"
	"github.com/anthropics/anthropic-sdk-go/v2/option"
)

// defaultAnthropicMaxTokens is sent when a request names no limit: the
// Messages API requires one.
const defaultAnthropicMaxTokens = 4096

// Anthropic is a Provider for Anthropic's Messages API.
type Anthropic struct {
	cfg    Config
	client anthropic.Client
}

// NewAnthropic builds the client without touching the network. The SDK's
// environment defaults (profiles, federation, ANTHROPIC_BASE_URL) are
// switched off so that the hub's configuration is the only source, and its
// retries too: Resilient retries, once, deliberately.
func NewAnthropic(c Config) *Anthropic {
	key := c.APIKey
	if key == "" && !c.Keyless {
		key = os.Getenv("ANTHROPIC_API_KEY")
	}
	opts := []option.RequestOption{
		option.WithoutEnvironmentDefaults(),
		option.WithAPIKey(key),
		option.WithMaxRetries(0),
		option.WithHTTPClient(c.httpClient()),
	}
	if c.BaseURL != "" {
		opts = append(opts, option.WithBaseURL(c.BaseURL))
	}
	return &Anthropic{cfg: c, client: anthropic.NewClient(opts...)}
}

// Name implements Provider.
func (p *Anthropic) Name() string { return "anthropic" }

// Model implements Provider.
func (p *Anthropic) Model() string { return p.cfg.Model }

// Chat implements Provider.
func (p *Anthropic) Chat(ctx context.Context, req Request, onText Handler) (Result, error) {
	model := req.Model
	if model == "" {
		model = p.cfg.Model
	}
	maxTok := req.MaxTokens
	if maxTok <= 0 {
		maxTok = defaultAnthropicMaxTokens
	}
	params := anthropic.MessageNewParams{
		Model:     model,
		MaxTokens: int64(maxTok),
		Messages:  anthropicMessages(req.Messages),
	}
	if req.System != "" {
		params.System = []anthropic.TextBlockParam{{Text: req.System}}
	}
	for _, t := range req.Tools {
		schema := anthropic.ToolInputSchemaParam{Properties: t.Schema["properties"]}
		if r, ok := t.Schema["required"].([]string); ok {
			schema.Required = r
		}
		tool := anthropic.ToolUnionParamOfTool(schema, t.Name)
		tool.OfTool.Description = anthropic.String(t.Description)
		params.Tools = append(params.Tools, tool)
	}
	stream := p.client.Messages.NewStreaming(ctx, params)
	defer stream.Close()

	res := Result{Model: model}
	var calls []*partialCall
	blocks := map[int64]*partialCall{}
	for stream.Next() {
		ev := stream.Current()
		switch ev.Type {
		case "message_start":
			m := ev.AsMessageStart().Message
			res.Usage.InputTokens = int(m.Usage.InputTokens + m.Usage.CacheReadInputTokens + m.Usage.CacheCreationInputTokens)
			res.Usage.OutputTokens = int(m.Usage.OutputTokens)
		case "content_block_start":
			cb := ev.AsContentBlockStart()
			if cb.ContentBlock.Type == "tool_use" {
				c := &partialCall{id: cb.ContentBlock.ID, name: cb.ContentBlock.Name}
				blocks[cb.Index] = c
				calls = append(calls, c)
			}
		case "content_block_delta":
			d := ev.AsContentBlockDelta()
			switch d.Delta.Type {
			case "text_delta":
				if d.Delta.Text != "" && onText != nil {
					if err := onText(d.Delta.Text); err != nil {
						return res, err
					}
				}
			case "input_json_delta":
				if c := blocks[d.Index]; c != nil {
					c.args.WriteString(d.Delta.PartialJSON)
				}
			}
		case "message_delta":
			md := ev.AsMessageDelta()
			if md.Usage.OutputTokens > 0 {
				res.Usage.OutputTokens = int(md.Usage.OutputTokens)
			}
			if md.Usage.InputTokens > 0 {
				res.Usage.InputTokens = int(md.Usage.InputTokens + md.Usage.CacheReadInputTokens + md.Usage.CacheCreationInputTokens)
			}
			if md.Delta.StopReason != "" {
				res.StopReason = string(md.Delta.StopReason)
			}
		}
	}
	if err := stream.Err(); err != nil {
		return res, p.wrap(ctx, model, err)
	}
	for _, c := range calls {
		res.ToolCalls = append(res.ToolCalls, c.toolCall())
	}
	return res, nil
}

// Complete implements Provider. Anthropic's models have no FIM endpoint, so
// the gap is asked for through chat.
func (p *Anthropic) Complete(ctx context.Context, req FIMRequest) (string, Usage, error) {
	return chatFIM(ctx, p, p.cfg.completionModel(req.Model), req)
}

func (p *Anthropic) wrap(ctx context.Context, model string, err error) error {
	var pe *Error
	if errors.As(err, &pe) {
		return err
	}
	var ae *anthropic.Error
	if errors.As(err, &ae) {
		status := ae.StatusCode
		if status < 400 {
			// An `event: error` inside a stream that began with 200.
			status = 500
		}
		var h = ae.Response
		if h != nil {
			return classify("anthropic", model, status, "", string(ae.Type()), ae.Message, h.Header, err)
		}
		return classify("anthropic", model, status, "", string(ae.Type()), ae.Message, nil, err)
	}
	return transportError(ctx, "anthropic", model, err)
}

func anthropicMessages(msgs []Message) []anthropic.MessageParam {
	var out []anthropic.MessageParam
	for i := 0; i < len(msgs); i++ {
		m := msgs[i]
		switch m.Role {
		case RoleUser:
			out = append(out, anthropic.NewUserMessage(anthropic.NewTextBlock(m.Text)))
		case RoleAssistant:
			var blocks []anthropic.ContentBlockParamUnion
			if m.Text != "" {
				blocks = append(blocks, anthropic.NewTextBlock(m.Text))
			}
			for _, c := range m.ToolCalls {
				var input any = map[string]any{}
				_ = json.Unmarshal(c.Args, &input)
				blocks = append(blocks, anthropic.NewToolUseBlock(c.ID, input, c.Name))
			}
			out = append(out, anthropic.NewAssistantMessage(blocks...))
		case RoleTool:
			// Consecutive tool results travel in one user turn.
			var blocks []anthropic.ContentBlockParamUnion
			for ; i < len(msgs) && msgs[i].Role == RoleTool; i++ {
				blocks = append(blocks, anthropic.NewToolResultBlock(msgs[i].ToolCallID, msgs[i].Text, msgs[i].IsError))
			}
			i--
			out = append(out, anthropic.NewUserMessage(blocks...))
		}
	}
	return out
}
