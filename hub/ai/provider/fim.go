package provider

import (
	"context"
	"strings"
)

// chatFIMSystem asks a chat model to behave like a fill-in-the-middle model.
const chatFIMSystem = "You complete code. Reply with only the text that belongs at <CURSOR>, " +
	"without explanations, without repeating the surrounding code and without markdown fences."

// chatFIM asks a chat model for the text between prefix and suffix, for
// providers or models without a FIM endpoint.
func chatFIM(ctx context.Context, p Provider, model string, req FIMRequest) (string, Usage, error) {
	maxTok := req.MaxTokens
	if maxTok <= 0 {
		maxTok = 128
	}
	var b strings.Builder
	res, err := p.Chat(ctx, Request{
		Model:     model,
		System:    chatFIMSystem,
		MaxTokens: maxTok,
		Messages:  []Message{{Role: RoleUser, Text: req.Prefix + "<CURSOR>" + req.Suffix}},
	}, func(d string) error { b.WriteString(d); return nil })
	if err != nil {
		return "", res.Usage, err
	}
	return stripFences(b.String()), res.Usage, nil
}

// stripFences removes a markdown code fence a chat model wrapped its answer
// in despite being asked not to.
func stripFences(s string) string {
	t := strings.TrimSpace(s)
	if !strings.HasPrefix(t, "```") {
		return s
	}
	t = t[3:]
	if nl := strings.IndexByte(t, '\n'); nl >= 0 {
		t = t[nl+1:]
	}
	t = strings.TrimSuffix(strings.TrimRight(t, "\n "), "```")
	return strings.TrimRight(t, "\n")
}

// FIMTemplates are the fill-in-the-middle prompt formats of common code
// models, by preset name.
var FIMTemplates = map[string]string{
	"qwen":      "<|fim_prefix|>{prefix}<|fim_suffix|>{suffix}<|fim_middle|>",
	"starcoder": "<fim_prefix>{prefix}<fim_suffix>{suffix}<fim_middle>",
	"codellama": "<PRE> {prefix} <SUF>{suffix} <MID>",
	"deepseek":  "<｜fim▁begin｜>{prefix}<｜fim▁hole｜>{suffix}<｜fim▁end｜>",
	"codestral": "[SUFFIX]{suffix}[PREFIX]{prefix}",
}

// fimStops end a raw FIM completion at the template's own markers.
var fimStops = []string{"<|endoftext|>", "<|fim_prefix|>", "<|fim_suffix|>", "<|fim_middle|>", "<fim_prefix>", "<EOT>", "<｜fim▁begin｜>"}

// renderFIM fills a template (a preset name or a literal with {prefix} and
// {suffix}).
func renderFIM(tmpl, prefix, suffix string) string {
	if t, ok := FIMTemplates[tmpl]; ok {
		tmpl = t
	}
	return strings.NewReplacer("{prefix}", prefix, "{suffix}", suffix).Replace(tmpl)
}
