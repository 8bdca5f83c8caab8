package store

import (
	"context"
	"errors"
	"fmt"
	"strconv"
)

// SchemaKey holds the schema version of the data in a store.
var SchemaKey = []byte("meta/schema")

// Migration moves a store from Version-1 to Version. Migrations run in
// order inside Migrate, each one recorded as soon as it succeeds, so a hub
// that dies mid-way resumes where it stopped on the next start.
type Migration struct {
	Version int
	Name    string
	Up      func(ctx context.Context, s Store) error
}

// Migrations is the hub's schema history. Append, never edit: a released
// migration has already run on someone's data.
var Migrations = []Migration{
	{Version: 1, Name: "initial schema", Up: func(context.Context, Store) error { return nil }},
}

// SchemaVersion reads the version recorded in s (0 for a new store).
func SchemaVersion(ctx context.Context, s Store) (int, error) {
	b, err := s.Get(ctx, SchemaKey)
	if errors.Is(err, ErrNotFound) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("read schema version: %w", err)
	}
	v, err := strconv.Atoi(string(b))
	if err != nil {
		return 0, fmt.Errorf("schema version %q: %w", b, err)
	}
	return v, nil
}

// Migrate brings s up to the last version in ms. A store written by a newer
// hub is refused rather than misread.
func Migrate(ctx context.Context, s Store, ms []Migration) error {
	cur, err := SchemaVersion(ctx, s)
	if err != nil {
		return err
	}
	latest := 0
	if len(ms) > 0 {
		latest = ms[len(ms)-1].Version
	}
	if cur > latest {
		return fmt.Errorf("store schema version %d is newer than this hub understands (%d): upgrade rubberduck", cur, latest)
	}
	for _, m := range ms {
		if m.Version <= cur {
			continue
		}
		if err := m.Up(ctx, s); err != nil {
			return fmt.Errorf("migration %d (%s): %w", m.Version, m.Name, err)
		}
		if err := s.Put(ctx, SchemaKey, []byte(strconv.Itoa(m.Version))); err != nil {
			return fmt.Errorf("record schema version %d: %w", m.Version, err)
		}
	}
	return nil
}
