package ai

import (
	"strings"
	"sync"
	"time"
)

// deltaInterval is the shortest time between two deltas of one answer. A
// fast local model can stream hundreds of tokens a second; one notification
// per token would fill slow clients' send queues (the hub drops a peer whose
// queue overflows), while people cannot read faster than this anyway. The
// first token always goes out at once.
const deltaInterval = 20 * time.Millisecond

// batcher coalesces an answer's text deltas. Its timer callback is bounded
// by close, after which nothing is sent, so no delta follows the final
// message.
type batcher struct {
	mu      sync.Mutex
	pending strings.Builder
	last    time.Time
	timer   *time.Timer
	closed  bool
	every   time.Duration
	send    func(string)
}

func newBatcher(every time.Duration, send func(string)) *batcher {
	return &batcher{every: every, send: send}
}

func (b *batcher) add(d string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return
	}
	b.pending.WriteString(d)
	wait := b.every - time.Since(b.last)
	if wait <= 0 {
		b.flushLocked()
		return
	}
	if b.timer == nil {
		b.timer = time.AfterFunc(wait, b.flush)
	}
}

func (b *batcher) flush() {
	b.mu.Lock()
	defer b.mu.Unlock()
	if !b.closed {
		b.flushLocked()
	}
}

// flushLocked sends what is pending; sending under the lock keeps deltas in
// order between the timer and the stream.
func (b *batcher) flushLocked() {
	if b.timer != nil {
		b.timer.Stop()
		b.timer = nil
	}
	if b.pending.Len() == 0 {
		return
	}
	b.send(b.pending.String())
	b.pending.Reset()
	b.last = time.Now()
}

// close sends what is pending and stops the batcher.
func (b *batcher) close() {
	b.mu.Lock()
	defer b.mu.Unlock()
	if !b.closed {
		b.flushLocked()
		b.closed = true
	}
}
