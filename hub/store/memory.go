package store

import (
	"bytes"
	"context"
	"sort"
	"sync"
)

// Memory is a Store held in memory. Tests of packages that persist through
// the store use it so they run without a data directory; it has the same
// semantics as the badger store except durability.
type Memory struct {
	mu     sync.RWMutex
	data   map[string][]byte
	closed bool
}

// NewMemory returns an empty in-memory store.
func NewMemory() *Memory { return &Memory{data: make(map[string][]byte)} }

// Get implements Store.
func (m *Memory) Get(_ context.Context, key []byte) ([]byte, error) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	if m.closed {
		return nil, ErrClosed
	}
	v, ok := m.data[string(key)]
	if !ok {
		return nil, ErrNotFound
	}
	return bytes.Clone(v), nil
}

// Put implements Store.
func (m *Memory) Put(_ context.Context, key, value []byte) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return ErrClosed
	}
	m.data[string(key)] = bytes.Clone(value)
	return nil
}

// Delete implements Store.
func (m *Memory) Delete(_ context.Context, key []byte) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return ErrClosed
	}
	delete(m.data, string(key))
	return nil
}

// Scan implements Store. It iterates over a snapshot of the matching keys,
// so fn may write to the store without deadlocking.
func (m *Memory) Scan(ctx context.Context, prefix []byte, fn func(key, value []byte) (bool, error)) error {
	m.mu.RLock()
	if m.closed {
		m.mu.RUnlock()
		return ErrClosed
	}
	type kv struct{ k, v []byte }
	var items []kv
	for k, v := range m.data {
		if bytes.HasPrefix([]byte(k), prefix) {
			items = append(items, kv{[]byte(k), bytes.Clone(v)})
		}
	}
	m.mu.RUnlock()
	sort.Slice(items, func(i, j int) bool { return bytes.Compare(items[i].k, items[j].k) < 0 })
	for _, it := range items {
		if err := ctx.Err(); err != nil {
			return err
		}
		more, err := fn(it.k, it.v)
		if err != nil {
			return err
		}
		if !more {
			return nil
		}
	}
	return nil
}

// Batch implements Store.
func (m *Memory) Batch(_ context.Context, fn func(b Batch) error) error {
	b := &memBatch{}
	if err := fn(b); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return ErrClosed
	}
	for _, op := range b.ops {
		if op.del {
			delete(m.data, op.k)
		} else {
			m.data[op.k] = op.v
		}
	}
	return nil
}

// Size implements Store by summing keys and values.
func (m *Memory) Size() int64 {
	m.mu.RLock()
	defer m.mu.RUnlock()
	var n int64
	for k, v := range m.data {
		n += int64(len(k) + len(v))
	}
	return n
}

// Close implements Store.
func (m *Memory) Close() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.closed = true
	return nil
}

type memOp struct {
	k   string
	v   []byte
	del bool
}

type memBatch struct{ ops []memOp }

func (b *memBatch) Put(key, value []byte) error {
	b.ops = append(b.ops, memOp{k: string(key), v: bytes.Clone(value)})
	return nil
}

func (b *memBatch) Delete(key []byte) error {
	b.ops = append(b.ops, memOp{k: string(key), del: true})
	return nil
}
