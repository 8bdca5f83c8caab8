package index

import (
	"context"
	"fmt"
	"sync"

	sitter "github.com/tree-sitter/go-tree-sitter"
)

// parsers keeps a few tree-sitter parsers per language. Parsers hold C
// memory and are not safe for concurrent use, so they are borrowed and
// returned, never dropped for the garbage collector (which cannot free
// them).
type parsers struct {
	mu   sync.Mutex
	idle map[Lang][]*sitter.Parser
}

var parserPool = &parsers{idle: map[Lang][]*sitter.Parser{}}

const maxIdleParsers = 4

func (p *parsers) get(s *spec) (*sitter.Parser, error) {
	p.mu.Lock()
	if l := p.idle[s.lang]; len(l) > 0 {
		ps := l[len(l)-1]
		p.idle[s.lang] = l[:len(l)-1]
		p.mu.Unlock()
		return ps, nil
	}
	p.mu.Unlock()
	ps := sitter.NewParser()
	if err := ps.SetLanguage(s.ts); err != nil {
		ps.Close()
		return nil, fmt.Errorf("tree-sitter %s: %w", s.lang, err)
	}
	return ps, nil
}

func (p *parsers) put(s *spec, ps *sitter.Parser) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.idle[s.lang]) >= maxIdleParsers {
		ps.Close()
		return
	}
	p.idle[s.lang] = append(p.idle[s.lang], ps)
}

// parse parses src, reusing old (already edited) when given. The caller
// closes the returned tree. One file (at most MaxFileBytes) parses in
// milliseconds, so ctx is checked before, not during: go-tree-sitter's
// ParseCtx starts an unowned goroutine that dereferences a nil
// cancellation flag when the context ends just as the parse finishes.
func parse(ctx context.Context, s *spec, src []byte, old *sitter.Tree) (*sitter.Tree, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	ps, err := parserPool.get(s)
	if err != nil {
		return nil, err
	}
	defer parserPool.put(s, ps)
	tree := ps.Parse(src, old)
	if tree == nil {
		ps.Reset()
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		return nil, fmt.Errorf("tree-sitter %s: parse failed", s.lang)
	}
	return tree, nil
}

// ExtractFile parses and reads one file in one go, locals included; it is
// what the index does for a closed file, and what tests use.
func ExtractFile(ctx context.Context, path string, src []byte) (*File, error) {
	s := specFor(LangOf(path))
	if s == nil {
		return nil, fmt.Errorf("%s: %w", path, ErrUnsupported)
	}
	return extractSrc(ctx, s, path, src, true)
}

func extractSrc(ctx context.Context, s *spec, path string, src []byte, locals bool) (*File, error) {
	tree, err := parse(ctx, s, src, nil)
	if err != nil {
		return nil, fmt.Errorf("parse %s: %w", path, err)
	}
	defer tree.Close()
	return extract(s, path, src, tree, locals), nil
}
