package auth

import (
	"testing"
)

// BenchmarkAuthorize measures the per-request check (credential, user,
// project and membership re-read) on the in-memory store.
func BenchmarkAuthorize(b *testing.B) {
	f := newFixture(b, nil)
	f.project(b, "web")
	ann := f.user(b, "ann")
	if err := f.svc.Grant(f.ctx, f.admin, "web", "ann", RoleWriter); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := f.svc.Authorize(f.ctx, ann, "web", ActionWrite); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkAuthenticate measures one connection's authentication.
func BenchmarkAuthenticate(b *testing.B) {
	f := newFixture(b, nil)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := f.svc.Authenticate(f.ctx, "", f.adminToken); err != nil {
			b.Fatal(err)
		}
	}
}
