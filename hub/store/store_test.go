package store_test

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/rubberduckhub/rubberduck/hub/store"
)

// openers lists every Store implementation; each must pass the same contract.
func openers(t *testing.T) map[string]func() store.Store {
	return map[string]func() store.Store{
		"memory": func() store.Store { return store.NewMemory() },
		"badger": func() store.Store {
			s, err := store.OpenBadger(context.Background(), t.TempDir(), store.BadgerOptions{})
			if err != nil {
				t.Fatal(err)
			}
			return s
		},
	}
}

func TestStoreContract(t *testing.T) {
	ctx := context.Background()
	for name, open := range openers(t) {
		t.Run(name, func(t *testing.T) {
			s := open()
			defer s.Close()

			if _, err := s.Get(ctx, []byte("missing")); !errors.Is(err, store.ErrNotFound) {
				t.Fatalf("Get(missing) = %v, want ErrNotFound", err)
			}
			if err := s.Put(ctx, []byte("a/1"), []byte("one")); err != nil {
				t.Fatal(err)
			}
			got, err := s.Get(ctx, []byte("a/1"))
			if err != nil || string(got) != "one" {
				t.Fatalf("Get(a/1) = %q, %v", got, err)
			}
			err = s.Batch(ctx, func(b store.Batch) error {
				for i := 2; i <= 4; i++ {
					if err := b.Put(fmt.Appendf(nil, "a/%d", i), fmt.Appendf(nil, "v%d", i)); err != nil {
						return err
					}
				}
				return b.Put([]byte("b/1"), []byte("other prefix"))
			})
			if err != nil {
				t.Fatal(err)
			}
			var keys []string
			err = s.Scan(ctx, []byte("a/"), func(k, v []byte) (bool, error) {
				keys = append(keys, string(k))
				return true, nil
			})
			if err != nil {
				t.Fatal(err)
			}
			if fmt.Sprint(keys) != "[a/1 a/2 a/3 a/4]" {
				t.Fatalf("Scan(a/) = %v", keys)
			}
			keys = nil
			_ = s.Scan(ctx, []byte("a/"), func(k, v []byte) (bool, error) {
				keys = append(keys, string(k))
				return len(keys) < 2, nil
			})
			if len(keys) != 2 {
				t.Fatalf("Scan stopping early visited %v", keys)
			}
			boom := errors.New("boom")
			err = s.Batch(ctx, func(b store.Batch) error {
				_ = b.Put([]byte("c/1"), []byte("x"))
				return boom
			})
			if !errors.Is(err, boom) {
				t.Fatalf("failed Batch = %v", err)
			}
			if _, err := s.Get(ctx, []byte("c/1")); !errors.Is(err, store.ErrNotFound) {
				t.Fatal("a failed batch left a write behind")
			}
			if err := s.Delete(ctx, []byte("a/1")); err != nil {
				t.Fatal(err)
			}
			if err := s.Delete(ctx, []byte("never-existed")); err != nil {
				t.Fatalf("Delete(absent) = %v", err)
			}
			if _, err := s.Get(ctx, []byte("a/1")); !errors.Is(err, store.ErrNotFound) {
				t.Fatal("Delete did not delete")
			}
			if v, _ := store.SchemaVersion(ctx, s); name == "badger" && v != store.Migrations[len(store.Migrations)-1].Version {
				t.Fatalf("badger schema version = %d", v)
			}
			if err := s.Close(); err != nil {
				t.Fatal(err)
			}
			if err := s.Close(); err != nil {
				t.Fatalf("second Close = %v", err)
			}
		})
	}
}

func TestBadgerPersistsAcrossReopen(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s, err := store.OpenBadger(ctx, dir, store.BadgerOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Put(ctx, []byte("k"), []byte("v")); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s, err = store.OpenBadger(ctx, dir, store.BadgerOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if v, err := s.Get(ctx, []byte("k")); err != nil || string(v) != "v" {
		t.Fatalf("after reopen Get = %q, %v", v, err)
	}
}

func TestMigrate(t *testing.T) {
	ctx := context.Background()
	var ran []int
	ms := []store.Migration{
		{Version: 1, Name: "one", Up: func(context.Context, store.Store) error { ran = append(ran, 1); return nil }},
		{Version: 2, Name: "two", Up: func(context.Context, store.Store) error { ran = append(ran, 2); return nil }},
	}
	tests := []struct {
		name    string
		start   string
		wantRun string
		wantErr bool
	}{
		{"new store runs all", "", "[1 2]", false},
		{"partly migrated resumes", "1", "[2]", false},
		{"current runs none", "2", "[]", false},
		{"newer schema is refused", "3", "[]", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ran = []int{}
			s := store.NewMemory()
			if tt.start != "" {
				_ = s.Put(ctx, store.SchemaKey, []byte(tt.start))
			}
			err := store.Migrate(ctx, s, ms)
			if (err != nil) != tt.wantErr {
				t.Fatalf("Migrate err = %v, wantErr %v", err, tt.wantErr)
			}
			if fmt.Sprint(ran) != tt.wantRun {
				t.Fatalf("ran %v, want %s", ran, tt.wantRun)
			}
		})
	}
}
