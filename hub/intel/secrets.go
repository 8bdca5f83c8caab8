package intel

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"sync"

	"github.com/rs/zerolog"
	"github.com/zricethezav/gitleaks/v8/detect"
	"github.com/zricethezav/gitleaks/v8/logging"
)

// secretScanner finds committed secrets with gitleaks' default rule set
// (hundreds of maintained provider rules plus entropy checks and its
// allowlists), scanning one file's content at a time.
type secretScanner struct {
	mu sync.Mutex
	d  *detect.Detector
}

var quietGitleaks sync.Once

func newSecretScanner() (*secretScanner, error) {
	// gitleaks logs through a package-level zerolog logger to stderr;
	// the hub logs through slog and must not print findings.
	quietGitleaks.Do(func() { logging.Logger = logging.Logger.Level(zerolog.Disabled) })
	d, err := detect.NewDetectorDefaultConfig()
	if err != nil {
		return nil, fmt.Errorf("gitleaks default config: %w", err)
	}
	return &secretScanner{d: d}, nil
}

// secret is one finding: a line, the byte columns of the secret on it,
// and the rule that matched.
type secret struct {
	Line       uint32
	Start, End uint32
	Rule, Desc string
}

func (s *secretScanner) scan(ctx context.Context, path string, src []byte) []secret {
	if bytes.IndexByte(src, 0) >= 0 {
		return nil // binary
	}
	s.mu.Lock()
	// detect.Fragment is deprecated for gitleaks v9, but DetectContext, the
	// one in-memory entry point of v8, still takes it.
	//lint:ignore SA1019 no replacement in gitleaks v8
	findings := s.d.DetectContext(ctx, detect.Fragment{Raw: string(src), FilePath: path})
	s.mu.Unlock()
	if len(findings) == 0 {
		return nil
	}
	l := newLines(src)
	var out []secret
	for _, f := range findings {
		line := uint32(max(f.StartLine, 0))
		text := string(l.line(line))
		start := strings.Index(text, f.Secret)
		if start < 0 || f.Secret == "" {
			start = 0
			f.Secret = text
		}
		out = append(out, secret{Line: line, Start: uint32(start), End: uint32(start + len(f.Secret)), Rule: f.RuleID, Desc: f.Description})
	}
	return out
}
