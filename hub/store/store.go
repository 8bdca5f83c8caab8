// Package store is the hub's durable key-value store: the one place where
// projects, people, tokens, audit records and document logs are kept.
//
// The interface is deliberately small (get, put, delete, prefix scan and
// batched writes) so that the embedded badger implementation used on one
// machine can later be swapped for a shared one when hubs run as several
// nodes, without touching the packages that own the data.
package store

import (
	"context"
	"errors"
)

// ErrNotFound is returned by Get when a key has no value, so callers can tell
// "absent" from a failure of the store itself.
var ErrNotFound = errors.New("store: key not found")

// ErrClosed is returned by every operation after Close, so a late request
// during shutdown fails clearly instead of touching released resources.
var ErrClosed = errors.New("store: closed")

// Store is the key-value interface every package of the hub persists through.
// Keys are namespaced by their owner with a prefix such as "auth/user/".
// Implementations are safe for concurrent use.
type Store interface {
	// Get returns a copy of the value for key, or ErrNotFound.
	Get(ctx context.Context, key []byte) ([]byte, error)
	// Put sets key to value, durably once it returns.
	Put(ctx context.Context, key, value []byte) error
	// Delete removes key; deleting an absent key is not an error.
	Delete(ctx context.Context, key []byte) error
	// Scan calls fn for every key that starts with prefix, in key order,
	// until fn returns false or an error. The slices passed to fn are only
	// valid during the call; copy them to keep them.
	Scan(ctx context.Context, prefix []byte, fn func(key, value []byte) (bool, error)) error
	// Batch applies all the writes made through b atomically: either all of
	// them are visible afterwards or none is.
	Batch(ctx context.Context, fn func(b Batch) error) error
	// Size reports the bytes the store occupies on disk, for metrics.
	Size() int64
	// Close flushes and releases the store. It is safe to call twice.
	Close() error
}

// Batch collects writes that Store.Batch commits together.
type Batch interface {
	Put(key, value []byte) error
	Delete(key []byte) error
}
