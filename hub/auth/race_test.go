package auth

import (
	"errors"
	"sync"
	"sync/atomic"
	"testing"
)

// A login code raced by many browsers yields exactly one session.
func TestLoginCodeSingleUseUnderRace(t *testing.T) {
	f := newFixture(t, nil)
	code, _, err := f.svc.CreateLoginCode(f.ctx, f.admin)
	if err != nil {
		t.Fatal(err)
	}
	var wins atomic.Int32
	var wg sync.WaitGroup
	for range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, _, err := f.svc.RedeemLoginCode(f.ctx, "", code)
			if err == nil {
				wins.Add(1)
			} else if !errors.Is(err, ErrUnauthenticated) {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if n := wins.Load(); n != 1 {
		t.Errorf("%d sessions from one code, want 1", n)
	}
}

// Revocation is effective on the next request even for a hub that missed
// the event: Authorize re-reads roles and credentials.
func TestAuthorizeSeesRevocationWithoutEvents(t *testing.T) {
	f := newFixture(t, nil)
	f.project(t, "web")
	ann := f.user(t, "ann")
	if err := f.svc.Grant(f.ctx, f.admin, "web", "ann", RoleWriter); err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.Authorize(f.ctx, ann, "web", ActionWrite); err != nil {
		t.Fatal(err)
	}
	if err := f.svc.Grant(f.ctx, f.admin, "web", "ann", RoleReader); err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.Authorize(f.ctx, ann, "web", ActionWrite); !errors.Is(err, ErrForbidden) {
		t.Errorf("lowered role still writes: %v", err)
	}
	if err := f.svc.RevokeRole(f.ctx, f.admin, "web", "ann"); err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.Authorize(f.ctx, ann, "web", ActionRead); !errors.Is(err, ErrNotFound) {
		t.Errorf("revoked member still reads: %v", err)
	}
}

// FuzzAuthenticate feeds arbitrary credentials: the answer is always
// ErrUnauthenticated, never a panic or another error.
func FuzzAuthenticate(f *testing.F) {
	for _, s := range []string{"", "rd_", "rds_", "rdl_x", newSecret(TokenPrefix), newSecret(SessionPrefix), "rd_" + string(make([]byte, 48))} {
		f.Add(s)
	}
	fx := newFixture(f, nil)
	f.Fuzz(func(t *testing.T, cred string) {
		if _, err := fx.svc.Authenticate(fx.ctx, "", cred); !errors.Is(err, ErrUnauthenticated) {
			t.Fatalf("Authenticate(%q) = %v", cred, err)
		}
	})
}
