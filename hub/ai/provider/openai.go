package provider

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"sort"
	"strings"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"
	"github.com/openai/openai-go/v3/packages/ssestream"
	"github.com/openai/openai-go/v3/shared"
)

// OpenAI is a Provider for any server that speaks OpenAI's chat-completions
// wire format: OpenAI, Ollama, vLLM, llama.cpp's server, LM Studio.
type OpenAI struct {
	cfg    Config
	client openai.Client
}

// NewOpenAI builds the client without touching the network. The SDK's own
// retries are switched off: Resilient retries, once, deliberately.
func NewOpenAI(c Config) *OpenAI {
	key := c.APIKey
	if key == "" && !c.Keyless {
		key = os.Getenv("OPENAI_API_KEY")
	}
	if key == "" {
		// Local servers (Ollama, llama.cpp) want no key, but the SDK
		// insists on sending one.
		key = "unused"
	}
	opts := []option.RequestOption{
		option.WithAPIKey(key),
		option.WithMaxRetries(0),
		option.WithHTTPClient(c.httpClient()),
	}
	if c.BaseURL != "" {
		opts = append(opts, option.WithBaseURL(c.BaseURL))
	}
	return &OpenAI{cfg: c, client: openai.NewClient(opts...)}
}

// Name implements Provider.
func (p *OpenAI) Name() string { return "openai" }

// official reports whether the base URL is OpenAI's own API.
func (p *OpenAI) official() bool {
	return p.cfg.BaseURL == "" || strings.Contains(p.cfg.BaseURL, "api.openai.com")
}

// Model implements Provider.
func (p *OpenAI) Model() string { return p.cfg.Model }

// Chat implements Provider.
func (p *OpenAI) Chat(ctx context.Context, req Request, onText Handler) (Result, error) {
	model := req.Model
	if model == "" {
		model = p.cfg.Model
	}
	params := openai.ChatCompletionNewParams{
		Model:         model,
		Messages:      openaiMessages(req),
		StreamOptions: openai.ChatCompletionStreamOptionsParam{IncludeUsage: openai.Bool(true)},
	}
	if req.MaxTokens > 0 {
		// OpenAI's reasoning models accept only max_completion_tokens;
		// Ollama, llama.cpp and older vLLM only max_tokens.
		if p.official() {
			params.MaxCompletionTokens = openai.Int(int64(req.MaxTokens))
		} else {
			params.MaxTokens = openai.Int(int64(req.MaxTokens))
		}
	}
	for _, t := range req.Tools {
		params.Tools = append(params.Tools, openai.ChatCompletionFunctionTool(shared.FunctionDefinitionParam{
			Name:        t.Name,
			Description: openai.String(t.Description),
			Parameters:  shared.FunctionParameters(t.Schema),
		}))
	}
	stream := p.client.Chat.Completions.NewStreaming(ctx, params)
	defer stream.Close()

	res := Result{Model: model}
	calls := map[int64]*partialCall{}
	for stream.Next() {
		chunk := stream.Current()
		if chunk.Usage.TotalTokens > 0 || chunk.Usage.PromptTokens > 0 {
			res.Usage = Usage{InputTokens: int(chunk.Usage.PromptTokens), OutputTokens: int(chunk.Usage.CompletionTokens)}
		}
		for _, ch := range chunk.Choices {
			if ch.FinishReason != "" {
				res.StopReason = ch.FinishReason
			}
			for _, tc := range ch.Delta.ToolCalls {
				c := calls[tc.Index]
				if c == nil {
					c = &partialCall{}
					calls[tc.Index] = c
				}
				if tc.ID != "" {
					c.id = tc.ID
				}
				if tc.Function.Name != "" {
					c.name = tc.Function.Name
				}
				c.args.WriteString(tc.Function.Arguments)
			}
			if ch.Delta.Content != "" && onText != nil {
				if err := onText(ch.Delta.Content); err != nil {
					return res, err
				}
			}
		}
	}
	if err := stream.Err(); err != nil {
		return res, p.wrap(ctx, model, err)
	}
	idx := make([]int64, 0, len(calls))
	for i := range calls {
		idx = append(idx, i)
	}
	sort.Slice(idx, func(a, b int) bool { return idx[a] < idx[b] })
	for _, i := range idx {
		res.ToolCalls = append(res.ToolCalls, calls[i].toolCall())
	}
	return res, nil
}

// Complete implements Provider: with FIM configured it uses /completions with
// a suffix, otherwise it asks the chat model to fill the gap.
func (p *OpenAI) Complete(ctx context.Context, req FIMRequest) (string, Usage, error) {
	model := p.cfg.completionModel(req.Model)
	if !p.cfg.FIM && p.cfg.FIMTemplate == "" {
		return chatFIM(ctx, p, model, req)
	}
	params := openai.CompletionNewParams{
		Model:  openai.CompletionNewParamsModel(model),
		Prompt: openai.CompletionNewParamsPromptUnion{OfString: openai.String(req.Prefix)},
		Suffix: openai.String(req.Suffix),
	}
	stop := req.Stop
	if p.cfg.FIMTemplate != "" {
		params.Prompt.OfString = openai.String(renderFIM(p.cfg.FIMTemplate, req.Prefix, req.Suffix))
		params.Suffix = openai.CompletionNewParams{}.Suffix
		stop = append(append([]string(nil), stop...), fimStops...)
	}
	if req.MaxTokens > 0 {
		params.MaxTokens = openai.Int(int64(req.MaxTokens))
	}
	if len(stop) > 0 {
		// OpenAI accepts at most 4 stop sequences; local servers more.
		if p.official() && len(stop) > 4 {
			stop = stop[:4]
		}
		params.Stop = openai.CompletionNewParamsStopUnion{OfStringArray: stop}
	}
	out, err := p.client.Completions.New(ctx, params)
	if err != nil {
		return "", Usage{}, p.wrap(ctx, model, err)
	}
	var text string
	if len(out.Choices) > 0 {
		text = out.Choices[0].Text
	}
	return text, Usage{InputTokens: int(out.Usage.PromptTokens), OutputTokens: int(out.Usage.CompletionTokens)}, nil
}

func (p *OpenAI) wrap(ctx context.Context, model string, err error) error {
	var pe *Error
	if errors.As(err, &pe) {
		return err
	}
	var ae *openai.Error
	if errors.As(err, &ae) {
		var h = ae.Response
		if h != nil {
			return classify("openai", model, ae.StatusCode, ae.Code, ae.Type, ae.Message, h.Header, err)
		}
		return classify("openai", model, ae.StatusCode, ae.Code, ae.Type, ae.Message, nil, err)
	}
	var se *ssestream.StreamError
	if ctx.Err() == nil && errors.As(err, &se) {
		// An error object inside the stream: data: {"error": {...}}.
		var body struct {
			Error struct{ Code, Type, Message string } `json:"error"`
		}
		_ = json.Unmarshal(se.Event.Data, &body)
		return classify("openai", model, 500, body.Error.Code, body.Error.Type, body.Error.Message, nil, err)
	}
	return transportError(ctx, "openai", model, err)
}

func openaiMessages(req Request) []openai.ChatCompletionMessageParamUnion {
	var out []openai.ChatCompletionMessageParamUnion
	if req.System != "" {
		out = append(out, openai.SystemMessage(req.System))
	}
	for _, m := range req.Messages {
		switch m.Role {
		case RoleUser:
			out = append(out, openai.UserMessage(m.Text))
		case RoleAssistant:
			a := openai.ChatCompletionAssistantMessageParam{}
			if m.Text != "" {
				a.Content.OfString = openai.String(m.Text)
			}
			for _, c := range m.ToolCalls {
				a.ToolCalls = append(a.ToolCalls, openai.ChatCompletionMessageToolCallUnionParam{
					OfFunction: &openai.ChatCompletionMessageFunctionToolCallParam{
						ID:       c.ID,
						Function: openai.ChatCompletionMessageFunctionToolCallFunctionParam{Name: c.Name, Arguments: string(c.Args)},
					},
				})
			}
			out = append(out, openai.ChatCompletionMessageParamUnion{OfAssistant: &a})
		case RoleTool:
			out = append(out, openai.ToolMessage(m.Text, m.ToolCallID))
		}
	}
	return out
}
