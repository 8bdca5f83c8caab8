package store

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/dgraph-io/badger/v4"
	"github.com/dgraph-io/badger/v4/options"
	"github.com/sourcegraph/conc"
)

// BadgerOptions tune the embedded store.
type BadgerOptions struct {
	// SyncInterval is how often buffered writes are fsynced. Writes are in
	// the operating system's page cache as soon as Put returns, so a crash
	// of the hub process loses nothing; a crash of the whole machine loses
	// at most SyncInterval of writes. Zero means one second.
	SyncInterval time.Duration
	// Logger receives badger's warnings and errors.
	Logger *slog.Logger
}

// Badger is the embedded Store: badger/v4 in the hub's data directory,
// tuned for a laptop. Badger's defaults reserve hundreds of megabytes
// (64 MiB memtables x5, a 256 MiB block cache, 1 GiB value-log mappings);
// the hub's data is small — metadata, audit records and document logs — so
// these options keep an idle hub well under 100 MB RSS.
type Badger struct {
	db     *badger.DB
	cancel context.CancelFunc
	wg     conc.WaitGroup
	once   sync.Once
	err    error
}

// OpenBadger opens (creating if needed) the store in dir and runs the schema
// migrations, so callers always see the current schema.
func OpenBadger(ctx context.Context, dir string, o BadgerOptions) (*Badger, error) {
	if o.SyncInterval <= 0 {
		o.SyncInterval = time.Second
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	opts := badger.DefaultOptions(dir).
		WithLogger(badgerLogger{o.Logger}).
		WithLoggingLevel(badger.WARNING).
		WithSyncWrites(false).
		WithMemTableSize(8 << 20).
		WithNumMemtables(2).
		WithNumLevelZeroTables(2).
		WithNumLevelZeroTablesStall(8).
		WithBaseTableSize(2 << 20).
		WithBaseLevelSize(8 << 20).
		WithValueLogFileSize(64 << 20).
		WithValueThreshold(4 << 10).
		WithBlockCacheSize(8 << 20).
		WithIndexCacheSize(4 << 20).
		WithNumCompactors(2).
		WithCompression(options.ZSTD).
		WithNumGoroutines(2).
		WithMetricsEnabled(false)
	db, err := badger.Open(opts)
	if err != nil {
		return nil, fmt.Errorf("open store in %s: %w", dir, err)
	}
	bctx, cancel := context.WithCancel(context.Background())
	s := &Badger{db: db, cancel: cancel}
	s.wg.Go(func() { s.syncLoop(bctx, o.SyncInterval, o.Logger) })
	if err := Migrate(ctx, s, Migrations); err != nil {
		_ = s.Close()
		return nil, err
	}
	return s, nil
}

func (s *Badger) syncLoop(ctx context.Context, every time.Duration, log *slog.Logger) {
	t := time.NewTicker(every)
	defer t.Stop()
	gc := time.NewTicker(10 * time.Minute)
	defer gc.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if err := s.db.Sync(); err != nil {
				log.Error("store sync failed", "err", err)
			}
		case <-gc.C:
			// Reclaim value-log space; ErrNoRewrite just means nothing to do.
			if err := s.db.RunValueLogGC(0.5); err != nil && !errors.Is(err, badger.ErrNoRewrite) {
				log.Warn("store value-log GC", "err", err)
			}
		}
	}
}

// Get implements Store.
func (s *Badger) Get(ctx context.Context, key []byte) ([]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	var out []byte
	err := s.db.View(func(txn *badger.Txn) error {
		item, err := txn.Get(key)
		if err != nil {
			return err
		}
		out, err = item.ValueCopy(nil)
		return err
	})
	return out, s.mapErr(err)
}

// Put implements Store.
func (s *Badger) Put(ctx context.Context, key, value []byte) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return s.mapErr(s.db.Update(func(txn *badger.Txn) error { return txn.Set(key, value) }))
}

// Delete implements Store.
func (s *Badger) Delete(ctx context.Context, key []byte) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return s.mapErr(s.db.Update(func(txn *badger.Txn) error { return txn.Delete(key) }))
}

// Scan implements Store.
func (s *Badger) Scan(ctx context.Context, prefix []byte, fn func(key, value []byte) (bool, error)) error {
	return s.mapErr(s.db.View(func(txn *badger.Txn) error {
		opts := badger.DefaultIteratorOptions
		opts.Prefix = prefix
		opts.PrefetchSize = 16
		it := txn.NewIterator(opts)
		defer it.Close()
		for it.Seek(prefix); it.ValidForPrefix(prefix); it.Next() {
			if err := ctx.Err(); err != nil {
				return err
			}
			item := it.Item()
			var more bool
			err := item.Value(func(v []byte) error {
				var err error
				more, err = fn(item.Key(), v)
				return err
			})
			if err != nil {
				return err
			}
			if !more {
				return nil
			}
		}
		return nil
	}))
}

// Batch implements Store. Writes go through badger's WriteBatch when they do
// not fit one transaction, so a batch is atomic up to badger's transaction
// size and split beyond it; the hub's batches (audit flushes, document log
// compaction) are far smaller.
func (s *Badger) Batch(ctx context.Context, fn func(b Batch) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return s.mapErr(s.db.Update(func(txn *badger.Txn) error {
		return fn(badgerBatch{txn})
	}))
}

// Size implements Store: the bytes of badger's LSM tree and value log.
func (s *Badger) Size() int64 {
	lsm, vlog := s.db.Size()
	return lsm + vlog
}

// Close stops the background sync, flushes and closes the database.
func (s *Badger) Close() error {
	s.once.Do(func() {
		s.cancel()
		s.wg.Wait()
		if err := s.db.Sync(); err != nil && !errors.Is(err, badger.ErrDBClosed) {
			s.err = fmt.Errorf("sync store: %w", err)
		}
		if err := s.db.Close(); err != nil {
			s.err = errors.Join(s.err, fmt.Errorf("close store: %w", err))
		}
	})
	return s.err
}

func (s *Badger) mapErr(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, badger.ErrKeyNotFound):
		return ErrNotFound
	case errors.Is(err, badger.ErrDBClosed):
		return ErrClosed
	}
	return err
}

type badgerBatch struct{ txn *badger.Txn }

func (b badgerBatch) Put(key, value []byte) error { return b.txn.Set(key, value) }
func (b badgerBatch) Delete(key []byte) error     { return b.txn.Delete(key) }

// badgerLogger routes badger's log lines to slog.
type badgerLogger struct{ l *slog.Logger }

func (b badgerLogger) Errorf(f string, a ...any)   { b.l.Error("badger: " + fmt.Sprintf(f, a...)) }
func (b badgerLogger) Warningf(f string, a ...any) { b.l.Warn("badger: " + fmt.Sprintf(f, a...)) }
func (b badgerLogger) Infof(f string, a ...any)    { b.l.Debug("badger: " + fmt.Sprintf(f, a...)) }
func (b badgerLogger) Debugf(f string, a ...any)   {}
