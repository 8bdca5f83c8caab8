// Package cache keeps recently read project files in memory so that every
// client opening the same file, the AI context builder and search do not
// each hit the disk.
//
// It must never serve stale content after an outside write, so an entry is
// tied to the identity of the file it was read from: Get takes the fstat
// the sandbox already has for the opened file and only answers when size,
// mtime, ctime, inode and device all match what Put stored (ctime cannot be
// set by tools that restore mtimes). The file watcher also invalidates
// paths it reports (Cache implements watch.Invalidator), which drops memory
// early and covers in-place rewrites inside one timestamp tick.
//
// The cache is partitioned per project: each partition is a least recently
// used list bounded in bytes (Options.ProjectMaxBytes) and the whole cache
// is bounded too (Options.MaxBytes; when it is exceeded the largest
// partition gives up its least recently used entries). Entries older than
// Options.TTL are misses. Hits, misses, evictions and bytes are exported as
// rubberduck_cache_* metrics.
package cache

import (
	"fmt"
	"io/fs"
	"math"
	"path"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/hashicorp/golang-lru/v2/simplelru"
	"github.com/prometheus/client_golang/prometheus"
)

// Options configures a Cache. The zero value of every field means its
// default.
type Options struct {
	// MaxBytes bounds the content held for all projects (default 256 MiB).
	MaxBytes int64
	// ProjectMaxBytes bounds one project's partition (default MaxBytes/4),
	// so one busy project cannot push every other one out.
	ProjectMaxBytes int64
	// MaxEntryBytes is the largest file kept (default 4 MiB); bigger files
	// are read from disk every time.
	MaxEntryBytes int64
	// TTL is how long an entry may be served after it was stored (default
	// 10 min).
	TTL time.Duration
	// Registerer receives the rubberduck_cache_* metrics.
	Registerer prometheus.Registerer
	// Now is the clock (default time.Now); tests move it.
	Now func() time.Time
}

// Cache is safe for concurrent use.
type Cache struct {
	opts Options
	met  *metrics

	mu     sync.Mutex
	parts  map[string]*partition
	bytes  int64
	reason string // eviction reason for the onEvict callback, under mu
}

// partition is one project's entries.
type partition struct {
	name  string
	lru   *simplelru.LRU[string, *item]
	bytes int64
	// below counts cached entries under each directory, so invalidating a
	// path that is not cached only scans when something below it is.
	below map[string]int
}

// item is one cached file: content plus the identity it was read from.
type item struct {
	data   []byte
	id     ident
	stored time.Time
}

// ident is what must match for an entry to be served.
type ident struct {
	size  int64
	mtime int64
	ctime int64
	ino   uint64
	dev   uint64
}

// identOf extracts the identity; ok is false when info has no Unix stat, in
// which case nothing is cached (it could not be revalidated).
func identOf(info fs.FileInfo) (ident, bool) {
	if info == nil || !info.Mode().IsRegular() {
		return ident{}, false
	}
	st, ok := info.Sys().(*syscall.Stat_t)
	if !ok {
		return ident{}, false
	}
	return ident{
		size:  info.Size(),
		mtime: info.ModTime().UnixNano(),
		ctime: st.Ctim.Nano(),
		ino:   st.Ino,
		dev:   uint64(st.Dev), //nolint:unconvert // int32 on some platforms
	}, true
}

// New returns an empty cache.
func New(opts Options) (*Cache, error) {
	if opts.MaxBytes <= 0 {
		opts.MaxBytes = 256 << 20
	}
	if opts.ProjectMaxBytes <= 0 {
		opts.ProjectMaxBytes = opts.MaxBytes / 4
	}
	opts.ProjectMaxBytes = min(opts.ProjectMaxBytes, opts.MaxBytes)
	if opts.MaxEntryBytes <= 0 {
		opts.MaxEntryBytes = 4 << 20
	}
	opts.MaxEntryBytes = min(opts.MaxEntryBytes, opts.ProjectMaxBytes)
	if opts.TTL <= 0 {
		opts.TTL = 10 * time.Minute
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	c := &Cache{opts: opts, parts: make(map[string]*partition)}
	met, err := newMetrics(opts.Registerer, c)
	if err != nil {
		return nil, fmt.Errorf("cache metrics: %w", err)
	}
	c.met = met
	return c, nil
}

// Project returns the view of one project's partition that sandbox.Open
// takes as its ContentCache. Views are cheap; every view of a name shares
// the partition.
func (c *Cache) Project(name string) *Project {
	return &Project{c: c, name: name}
}

// Project is one project's view of the Cache; it implements
// sandbox.ContentCache.
type Project struct {
	c    *Cache
	name string
}

// Get returns rel's content if it was stored for the same file identity as
// info (size, mtime, ctime, inode, device) less than TTL ago. A mismatching
// entry is dropped. As sandbox.ContentCache specifies, the slice is shared
// and must not be modified.
func (p *Project) Get(rel string, info fs.FileInfo) ([]byte, bool) {
	return p.c.get(p.name, clean(rel), info)
}

// Put stores data as rel's content for the file identity in info. The slice
// is kept, not copied (sandbox.ContentCache: it must never be modified).
// Files larger than MaxEntryBytes, and infos without a Unix stat, are not
// stored.
func (p *Project) Put(rel string, info fs.FileInfo, data []byte) {
	p.c.put(p.name, clean(rel), info, data)
}

// Invalidate drops rel and, when rel is a directory, everything below it.
func (p *Project) Invalidate(rel string) {
	p.c.Invalidate(p.name, rel)
}

// Invalidate drops rel of project and everything below it; the file
// watcher's Manager calls it for every reported change ("" drops the whole
// project).
func (c *Cache) Invalidate(project, rel string) {
	rel = clean(rel)
	c.mu.Lock()
	defer c.mu.Unlock()
	pt := c.parts[project]
	if pt == nil {
		return
	}
	c.reason = "invalidated"
	if rel == "" {
		pt.lru.Purge()
		return
	}
	pt.lru.Remove(rel)
	if pt.below[rel] > 0 {
		for _, k := range pt.lru.Keys() {
			if strings.HasPrefix(k, rel+"/") {
				pt.lru.Remove(k)
			}
		}
	}
}

// Drop forgets a project entirely, for when it is unloaded or deleted.
func (c *Cache) Drop(project string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	pt := c.parts[project]
	if pt == nil {
		return
	}
	c.reason = "invalidated"
	pt.lru.Purge()
	delete(c.parts, project)
}

// Stats is a point-in-time summary, for tests and operators.
type Stats struct {
	Bytes    int64
	Entries  int
	Projects int
}

// Stats returns the cache's current size.
func (c *Cache) Stats() Stats {
	c.mu.Lock()
	defer c.mu.Unlock()
	s := Stats{Bytes: c.bytes, Projects: len(c.parts)}
	for _, pt := range c.parts {
		s.Entries += pt.lru.Len()
	}
	return s
}

func (c *Cache) get(project, rel string, info fs.FileInfo) ([]byte, bool) {
	id, ok := identOf(info)
	if !ok {
		c.met.miss()
		return nil, false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	pt := c.parts[project]
	if pt == nil {
		c.met.miss()
		return nil, false
	}
	it, ok := pt.lru.Get(rel)
	if !ok {
		c.met.miss()
		return nil, false
	}
	if it.id != id {
		c.reason = "stale"
		pt.lru.Remove(rel)
		c.met.miss()
		return nil, false
	}
	if c.opts.Now().Sub(it.stored) >= c.opts.TTL {
		c.reason = "expired"
		pt.lru.Remove(rel)
		c.met.miss()
		return nil, false
	}
	c.met.hit()
	return it.data, true
}

func (c *Cache) put(project, rel string, info fs.FileInfo, data []byte) {
	id, ok := identOf(info)
	if !ok || rel == "" || int64(len(data)) > c.opts.MaxEntryBytes || int64(len(data)) != id.size {
		return
	}
	it := &item{data: data, id: id, stored: c.opts.Now()}
	c.mu.Lock()
	defer c.mu.Unlock()
	pt := c.parts[project]
	if pt == nil {
		pt = c.newPartition(project)
		c.parts[project] = pt
	}
	c.reason = "invalidated" // replaced by newer content
	pt.lru.Remove(rel)
	pt.lru.Add(rel, it)
	pt.bytes += int64(len(it.data))
	c.bytes += int64(len(it.data))
	for d := parent(rel); d != ""; d = parent(d) {
		pt.below[d]++
	}
	c.reason = "size"
	for pt.bytes > c.opts.ProjectMaxBytes {
		pt.lru.RemoveOldest()
	}
	for c.bytes > c.opts.MaxBytes {
		var largest *partition
		for _, q := range c.parts {
			if largest == nil || q.bytes > largest.bytes {
				largest = q
			}
		}
		largest.lru.RemoveOldest()
	}
}

// newPartition makes a partition whose evictions keep the byte counts and
// the directory index right. The caller holds c.mu.
func (c *Cache) newPartition(name string) *partition {
	pt := &partition{name: name, below: make(map[string]int)}
	// Bounded by bytes, not by count: the count limit is only a ceiling.
	lru, _ := simplelru.NewLRU(math.MaxInt32, func(rel string, it *item) {
		n := int64(len(it.data))
		pt.bytes -= n
		c.bytes -= n
		for d := parent(rel); d != ""; d = parent(d) {
			if pt.below[d]--; pt.below[d] <= 0 {
				delete(pt.below, d)
			}
		}
		c.met.evict(c.reason)
	})
	pt.lru = lru
	return pt
}

func parent(rel string) string {
	i := strings.LastIndexByte(rel, '/')
	if i < 0 {
		return ""
	}
	return rel[:i]
}

func clean(rel string) string {
	return path.Clean("/" + filepath.ToSlash(rel))[1:]
}
