package auth

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/rubberduckhub/rubberduck/hub/audit"
	"github.com/rubberduckhub/rubberduck/hub/project"
	"github.com/rubberduckhub/rubberduck/hub/ratelimit"
	"github.com/rubberduckhub/rubberduck/hub/store"
	"github.com/rubberduckhub/rubberduck/sandbox"
)

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

type fixture struct {
	ctx        context.Context
	st         *store.Memory
	projects   *project.Manager
	svc        *Service
	clock      *clock
	log        *audit.Log
	reg        *prometheus.Registry
	base       string
	admin      Principal
	adminToken string

	mu     sync.Mutex
	events []RevokeEvent
}

func newFixture(t testing.TB, limiter FailureLimiter) *fixture {
	t.Helper()
	f := &fixture{ctx: context.Background(), st: store.NewMemory(), reg: prometheus.NewRegistry()}
	f.clock = &clock{t: time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)}
	base, err := filepath.EvalSymlinks(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	f.base = base
	f.projects = project.NewManager(f.st, filepath.Join(base, "data"))
	f.log, err = audit.New(f.st, audit.Options{Now: f.clock.now})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = f.log.Close() })
	f.svc, err = New(f.st, f.projects, Options{Now: f.clock.now, Audit: f.log, Limiter: limiter, Registerer: f.reg})
	if err != nil {
		t.Fatal(err)
	}
	f.svc.OnRevoke(func(e RevokeEvent) {
		f.mu.Lock()
		defer f.mu.Unlock()
		f.events = append(f.events, e)
	})
	tok, created, err := f.svc.Bootstrap(f.ctx, "")
	if err != nil || !created {
		t.Fatalf("Bootstrap = %v, %v", created, err)
	}
	f.adminToken = tok
	f.admin = f.auth(t, tok)
	return f
}

func (f *fixture) auth(t testing.TB, secret string) Principal {
	t.Helper()
	p, err := f.svc.Authenticate(f.ctx, "192.0.2.1:1", secret)
	if err != nil {
		t.Fatalf("Authenticate: %v", err)
	}
	return p
}

// user adds a user with an unscoped token and returns their principal.
func (f *fixture) user(t testing.TB, name string) Principal {
	t.Helper()
	if _, err := f.svc.AddUser(f.ctx, f.admin, NewUser{Name: name}); err != nil {
		t.Fatal(err)
	}
	sec, _, err := f.svc.CreateToken(f.ctx, f.admin, TokenSpec{User: name, Name: "t"})
	if err != nil {
		t.Fatal(err)
	}
	return f.auth(t, sec)
}

func (f *fixture) project(t testing.TB, name string) {
	t.Helper()
	root := filepath.Join(f.base, name)
	if err := os.MkdirAll(root, 0o755); err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.CreateProject(f.ctx, f.admin, project.Spec{Name: name, Root: root}); err != nil {
		t.Fatal(err)
	}
}

func (f *fixture) takeEvents() []RevokeEvent {
	f.mu.Lock()
	defer f.mu.Unlock()
	ev := f.events
	f.events = nil
	return ev
}

func TestBootstrapOnlyOnce(t *testing.T) {
	f := newFixture(t, nil)
	if !f.admin.Admin || f.admin.UserName != "owner" || f.admin.Kind != KindToken {
		t.Errorf("bootstrap principal = %+v", f.admin)
	}
	tok, created, err := f.svc.Bootstrap(f.ctx, "")
	if err != nil || created || tok != "" {
		t.Errorf("second Bootstrap = %q, %v, %v; want nothing", tok, created, err)
	}
	if err := f.svc.RequireAdmin(f.ctx, f.admin); err != nil {
		t.Errorf("bootstrap user is not admin: %v", err)
	}
}

func TestTokenLifecycle(t *testing.T) {
	f := newFixture(t, nil)
	ann := f.user(t, "ann")
	secret, tok, err := f.svc.CreateToken(f.ctx, ann, TokenSpec{Name: "laptop", TTL: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(secret, TokenPrefix) || len(secret) != len(TokenPrefix)+encodedLen {
		t.Errorf("token %q lacks the recognisable format", secret[:6])
	}

	t.Run("hashed at rest", func(t *testing.T) {
		body := strings.TrimPrefix(secret, TokenPrefix)
		_ = f.st.Scan(f.ctx, nil, func(k, v []byte) (bool, error) {
			for _, b := range [][]byte{k, v} {
				if bytes.Contains(b, []byte(body)) || bytes.Contains(b, []byte(body[:20])) {
					t.Errorf("secret found in store under %s", k)
				}
			}
			return true, nil
		})
	})

	tests := []struct {
		name    string
		cred    string
		advance time.Duration
		wantErr error
	}{
		{"valid", secret, 0, nil},
		{"empty", "", 0, ErrUnauthenticated},
		{"bearer prefix left on", "Bearer " + secret, 0, ErrUnauthenticated},
		{"one character changed", secret[:10] + flip(secret[10]) + secret[11:], 0, ErrUnauthenticated},
		{"well-formed but unknown", newSecret(TokenPrefix), 0, ErrUnauthenticated},
		{"a token presented as a session", SessionPrefix + strings.TrimPrefix(secret, TokenPrefix), 0, ErrUnauthenticated},
		{"just before expiry", secret, 59 * time.Minute, nil},
		{"expired", secret, time.Minute, ErrUnauthenticated},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f.clock.add(tt.advance)
			p, err := f.svc.Authenticate(f.ctx, "", tt.cred)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("Authenticate = %v, want %v", err, tt.wantErr)
			}
			if err == nil && (p.UserID != ann.UserID || p.CredentialID != tok.ID) {
				t.Errorf("principal = %+v", p)
			}
		})
	}

	list, err := f.svc.Tokens(f.ctx, ann, "")
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 2 {
		t.Fatalf("Tokens = %+v", list)
	}
	for _, l := range list {
		if l.ID == tok.ID && (l.LastUsed.IsZero() || l.Name != "laptop" || l.Expires != tok.Expires) {
			t.Errorf("listed token = %+v", l)
		}
	}
	for reason, want := range map[string]float64{"expired": 1, "malformed": 3, "unknown": 2} {
		if got := testutil.ToFloat64(f.svc.authFailures.WithLabelValues(reason)); got != want {
			t.Errorf("rubberduck_auth_failures_total{reason=%q} = %v, want %v", reason, got, want)
		}
	}

	// Revoking ann's other token closes connections made with it, and the
	// principal stops working at once.
	f.takeEvents()
	if err := f.svc.RevokeToken(f.ctx, f.admin, ann.CredentialID); err != nil {
		t.Fatal(err)
	}
	want := RevokeEvent{UserID: ann.UserID, TokenID: ann.CredentialID, Reason: "token revoked"}
	if ev := f.takeEvents(); len(ev) != 1 || ev[0] != want {
		t.Errorf("events = %+v, want %+v", ev, want)
	}
	if err := f.svc.RequireAdmin(f.ctx, ann); !errors.Is(err, ErrUnauthenticated) {
		t.Errorf("revoked principal still live: %v", err)
	}
	if err := f.svc.RevokeToken(f.ctx, ann, ann.CredentialID); !errors.Is(err, ErrUnauthenticated) {
		t.Errorf("revoked principal acted: %v", err)
	}
	f.clock.add(-time.Hour) // back before the laptop token's expiry
	alive := f.auth(t, secret)
	if err := f.svc.RevokeToken(f.ctx, alive, tok.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.Authenticate(f.ctx, "", secret); !errors.Is(err, ErrUnauthenticated) {
		t.Errorf("revoked token authenticates: %v", err)
	}
}

func flip(c byte) string {
	if c == 'A' {
		return "B"
	}
	return "A"
}

func TestTokenManagementPermissions(t *testing.T) {
	f := newFixture(t, nil)
	ann, bob := f.user(t, "ann"), f.user(t, "bob")
	tests := []struct {
		name    string
		call    func() error
		wantErr error
	}{
		{"user creates own token", func() error { _, _, err := f.svc.CreateToken(f.ctx, ann, TokenSpec{}); return err }, nil},
		{"user creates token for another", func() error {
			_, _, err := f.svc.CreateToken(f.ctx, ann, TokenSpec{User: "bob"})
			return err
		}, ErrForbidden},
		{"user probes unknown user", func() error {
			_, _, err := f.svc.CreateToken(f.ctx, ann, TokenSpec{User: "zed"})
			return err
		}, ErrForbidden},
		{"admin creates token for another", func() error {
			_, _, err := f.svc.CreateToken(f.ctx, f.admin, TokenSpec{User: "bob"})
			return err
		}, nil},
		{"too long lifetime", func() error {
			_, _, err := f.svc.CreateToken(f.ctx, ann, TokenSpec{TTL: 10 * 365 * 24 * time.Hour})
			return err
		}, ErrInvalid},
		{"user lists another's tokens", func() error { _, err := f.svc.Tokens(f.ctx, ann, "bob"); return err }, ErrForbidden},
		{"user revokes another's token", func() error { return f.svc.RevokeToken(f.ctx, ann, bob.CredentialID) }, ErrNotFound},
		{"user adds a user", func() error { _, err := f.svc.AddUser(f.ctx, ann, NewUser{Name: "eve"}); return err }, ErrForbidden},
		{"user lists users", func() error { _, err := f.svc.Users(f.ctx, ann); return err }, ErrForbidden},
		{"admin adds a duplicate", func() error { _, err := f.svc.AddUser(f.ctx, f.admin, NewUser{Name: "ann"}); return err }, ErrExists},
		{"admin adds a bad name", func() error { _, err := f.svc.AddUser(f.ctx, f.admin, NewUser{Name: "usr_x"}); return err }, ErrInvalid},
		{"admin removes the last admin", func() error { return f.svc.RemoveUser(f.ctx, f.admin, "owner") }, ErrLastAdmin},
		{"admin demotes the last admin", func() error { return f.svc.SetAdmin(f.ctx, f.admin, "owner", false) }, ErrLastAdmin},
		{"user makes themself admin", func() error { return f.svc.SetAdmin(f.ctx, ann, "ann", true) }, ErrForbidden},
		{"user removes a user", func() error { return f.svc.RemoveUser(f.ctx, ann, "bob") }, ErrForbidden},
		{"user creates a project", func() error {
			_, err := f.svc.CreateProject(f.ctx, ann, project.Spec{Name: "x", Root: f.base})
			return err
		}, ErrForbidden},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.call(); !errors.Is(err, tt.wantErr) {
				t.Errorf("error = %v, want %v", err, tt.wantErr)
			}
		})
	}
}

func TestRoleMatrix(t *testing.T) {
	f := newFixture(t, nil)
	f.project(t, "web")
	f.project(t, "other")
	people := map[string]Principal{"admin": f.admin}
	for name, role := range map[string]Role{"olive": RoleOwner, "walt": RoleWriter, "rita": RoleReader, "nora": RoleNone} {
		people[name] = f.user(t, name)
		if role != RoleNone {
			if err := f.svc.Grant(f.ctx, f.admin, "web", name, role); err != nil {
				t.Fatal(err)
			}
		}
	}
	// nora owns "other", which gives her nothing in "web".
	if err := f.svc.Grant(f.ctx, f.admin, "other", "nora", RoleOwner); err != nil {
		t.Fatal(err)
	}
	const ok, hidden, forbidden = "ok", "not found", "forbidden"
	tests := []struct {
		who                 string
		read, write, manage string
	}{
		{"admin", ok, ok, ok},
		{"olive", ok, ok, ok},
		{"walt", ok, ok, forbidden},
		{"rita", ok, forbidden, forbidden},
		{"nora", hidden, hidden, hidden},
	}
	for _, tt := range tests {
		for action, want := range map[Action]string{ActionRead: tt.read, ActionWrite: tt.write, ActionAdmin: tt.manage} {
			t.Run(tt.who+"/"+string(action), func(t *testing.T) {
				_, err := f.svc.Authorize(f.ctx, people[tt.who], "web", action)
				got := ok
				switch {
				case errors.Is(err, ErrNotFound):
					got = hidden
				case errors.Is(err, ErrForbidden):
					got = forbidden
				case err != nil:
					t.Fatal(err)
				}
				if got != want {
					t.Errorf("got %s, want %s", got, want)
				}
			})
		}
	}

	t.Run("non-member error equals missing project error", func(t *testing.T) {
		_, errHidden := f.svc.Authorize(f.ctx, people["nora"], "web", ActionRead)
		f2 := newFixture(t, nil)
		nora2 := f2.user(t, "nora")
		_, errMissing := f2.svc.Authorize(f2.ctx, nora2, "web", ActionRead)
		if errHidden == nil || errHidden.Error() != errMissing.Error() || !errors.Is(errMissing, ErrNotFound) {
			t.Errorf("hidden %q vs missing %q", errHidden, errMissing)
		}
		_, err := f.svc.Members(f.ctx, people["nora"], "web")
		if err.Error() != errMissing.Error() {
			t.Errorf("Members leaks: %v", err)
		}
	})

	t.Run("only owners manage members", func(t *testing.T) {
		if err := f.svc.Grant(f.ctx, people["walt"], "web", "nora", RoleReader); !errors.Is(err, ErrForbidden) {
			t.Errorf("writer granted: %v", err)
		}
		if err := f.svc.Grant(f.ctx, people["olive"], "web", "nora", RoleReader); err != nil {
			t.Errorf("owner could not grant: %v", err)
		}
		if err := f.svc.Grant(f.ctx, people["olive"], "web", "nora", "god"); !errors.Is(err, ErrInvalid) {
			t.Errorf("invalid role accepted: %v", err)
		}
		ms, err := f.svc.Members(f.ctx, people["rita"], "web")
		if err != nil || len(ms) != 4 {
			t.Errorf("Members = %+v, %v", ms, err)
		}
		// A reader may leave, but not remove others.
		if err := f.svc.RevokeRole(f.ctx, people["rita"], "web", "walt"); !errors.Is(err, ErrForbidden) {
			t.Errorf("reader removed a writer: %v", err)
		}
		if err := f.svc.RevokeRole(f.ctx, people["rita"], "web", "rita"); err != nil {
			t.Errorf("reader could not leave: %v", err)
		}
	})

	t.Run("project listing shows only visible projects and hides roots", func(t *testing.T) {
		list, err := f.svc.Projects(f.ctx, people["walt"])
		if err != nil || len(list) != 1 || list[0].Name != "web" || list[0].Role != RoleWriter || list[0].Root != "" {
			t.Errorf("Projects(walt) = %+v, %v", list, err)
		}
		list, _ = f.svc.Projects(f.ctx, f.admin)
		if len(list) != 2 || list[0].Root == "" {
			t.Errorf("Projects(admin) = %+v", list)
		}
	})
}

func TestScopedToken(t *testing.T) {
	f := newFixture(t, nil)
	f.project(t, "web")
	f.project(t, "api")
	ann := f.user(t, "ann")
	for _, p := range []string{"web", "api"} {
		if err := f.svc.Grant(f.ctx, f.admin, p, "ann", RoleWriter); err != nil {
			t.Fatal(err)
		}
	}
	sec, tok, err := f.svc.CreateToken(f.ctx, ann, TokenSpec{Project: "web"})
	if err != nil || tok.Project != "web" {
		t.Fatalf("CreateToken = %+v, %v", tok, err)
	}
	scoped := f.auth(t, sec)
	adminSec, _, err := f.svc.CreateToken(f.ctx, f.admin, TokenSpec{Project: "web"})
	if err != nil {
		t.Fatal(err)
	}
	scopedAdmin := f.auth(t, adminSec)
	_, errMissing := f.svc.Authorize(f.ctx, scoped, "nope", ActionRead)

	tests := []struct {
		name    string
		call    func() error
		wantErr error
	}{
		{"own project", func() error { _, err := f.svc.Authorize(f.ctx, scoped, "web", ActionWrite); return err }, nil},
		{"other project looks missing", func() error { _, err := f.svc.Authorize(f.ctx, scoped, "api", ActionRead); return err }, ErrNotFound},
		{"admin scoped to web cannot touch api", func() error {
			_, err := f.svc.Authorize(f.ctx, scopedAdmin, "api", ActionRead)
			return err
		}, ErrNotFound},
		{"scoped admin cannot administer the hub", func() error { return f.svc.RequireAdmin(f.ctx, scopedAdmin) }, ErrForbidden},
		{"scoped token cannot mint a broader token", func() error {
			_, tk, err := f.svc.CreateToken(f.ctx, scoped, TokenSpec{})
			if err == nil && tk.Project != "web" {
				return errors.New("minted an unscoped token")
			}
			return err
		}, nil},
		{"scoped token cannot mint one for another project", func() error {
			_, _, err := f.svc.CreateToken(f.ctx, scoped, TokenSpec{Project: "api"})
			return err
		}, ErrNotFound},
		{"token for a project the user cannot see", func() error {
			_, _, err := f.svc.CreateToken(f.ctx, f.user(t, "bob"), TokenSpec{Project: "web"})
			return err
		}, ErrNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.call()
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("error = %v, want %v", err, tt.wantErr)
			}
		})
	}
	_, errOther := f.svc.Authorize(f.ctx, scoped, "api", ActionRead)
	if strings.Replace(errOther.Error(), "api", "nope", 1) != errMissing.Error() {
		t.Errorf("scope error %q differs from missing-project error %q", errOther, errMissing)
	}
}

func TestLoginCodes(t *testing.T) {
	f := newFixture(t, nil)
	ann := f.user(t, "ann")
	code, exp, err := f.svc.CreateLoginCode(f.ctx, ann)
	if err != nil || !exp.Equal(f.clock.now().Add(10*time.Minute)) || !strings.HasPrefix(code, LoginCodePrefix) {
		t.Fatalf("CreateLoginCode = %v, %v", exp, err)
	}
	late, _, _ := f.svc.CreateLoginCode(f.ctx, ann)

	sess, info, err := f.svc.RedeemLoginCode(f.ctx, "", code)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := f.svc.RedeemLoginCode(f.ctx, "", code); !errors.Is(err, ErrUnauthenticated) {
		t.Errorf("second redeem = %v, want ErrUnauthenticated", err)
	}
	p, err := f.svc.Authenticate(f.ctx, "", sess)
	if err != nil || p.UserID != ann.UserID || p.Kind != KindSession || p.CredentialID != info.ID {
		t.Fatalf("session authenticates as %+v, %v", p, err)
	}
	for _, sec := range []string{code, sess} {
		_ = f.st.Scan(f.ctx, nil, func(k, v []byte) (bool, error) {
			if bytes.Contains(v, []byte(sec[4:24])) || bytes.Contains(k, []byte(sec[4:24])) {
				t.Errorf("secret stored in clear under %s", k)
			}
			return true, nil
		})
	}

	if _, _, err := f.svc.CreateLoginCode(f.ctx, p); !errors.Is(err, ErrForbidden) {
		t.Errorf("a session created a login code: %v", err)
	}

	f.clock.add(10 * time.Minute)
	if _, _, err := f.svc.RedeemLoginCode(f.ctx, "", late); !errors.Is(err, ErrUnauthenticated) {
		t.Errorf("expired code redeemed: %v", err)
	}
	if _, _, err := f.svc.RedeemLoginCode(f.ctx, "", "rdl_short"); !errors.Is(err, ErrUnauthenticated) {
		t.Errorf("garbage redeemed: %v", err)
	}

	f.takeEvents()
	if err := f.svc.Logout(f.ctx, sess); err != nil {
		t.Fatal(err)
	}
	if ev := f.takeEvents(); len(ev) != 1 || ev[0].TokenID != info.ID || !ev[0].Affects(p, "anything") {
		t.Errorf("logout events = %+v", ev)
	}
	if _, err := f.svc.Authenticate(f.ctx, "", sess); !errors.Is(err, ErrUnauthenticated) {
		t.Errorf("session after logout: %v", err)
	}

	t.Run("session expires", func(t *testing.T) {
		code, _, _ := f.svc.CreateLoginCode(f.ctx, ann)
		sess, _, err := f.svc.RedeemLoginCode(f.ctx, "", code)
		if err != nil {
			t.Fatal(err)
		}
		_, _, _ = f.svc.CreateLoginCode(f.ctx, ann) // never redeemed
		f.clock.add(12 * time.Hour)
		if _, err := f.svc.Authenticate(f.ctx, "", sess); !errors.Is(err, ErrUnauthenticated) {
			t.Errorf("expired session: %v", err)
		}
		n, err := f.svc.PruneExpired(f.ctx)
		if err != nil || n != 2 {
			t.Errorf("PruneExpired = %d, %v", n, err)
		}
	})
}

func TestRevocationEvents(t *testing.T) {
	f := newFixture(t, nil)
	f.project(t, "web")
	ann := f.user(t, "ann")
	bob := f.user(t, "bob")
	for _, u := range []string{"ann", "bob"} {
		if err := f.svc.Grant(f.ctx, f.admin, "web", u, RoleWriter); err != nil {
			t.Fatal(err)
		}
	}
	f.takeEvents()
	tests := []struct {
		name string
		do   func() error
		want []RevokeEvent
		// affected: who of ann/bob, connected to "web", must be disconnected
		affected map[string]bool
	}{
		{"raising a role revokes nothing",
			func() error { return f.svc.Grant(f.ctx, f.admin, "web", "ann", RoleOwner) },
			nil, nil},
		{"lowering a role",
			func() error { return f.svc.Grant(f.ctx, f.admin, "web", "ann", RoleReader) },
			[]RevokeEvent{{UserID: ann.UserID, Project: "web", Reason: "role lowered"}},
			map[string]bool{"ann": true}},
		{"revoking a role",
			func() error { return f.svc.RevokeRole(f.ctx, f.admin, "web", "ann") },
			[]RevokeEvent{{UserID: ann.UserID, Project: "web", Reason: "role revoked"}},
			map[string]bool{"ann": true}},
		{"promoting to admin revokes nothing",
			func() error { return f.svc.SetAdmin(f.ctx, f.admin, "bob", true) },
			nil, nil},
		{"demoting an admin",
			func() error { return f.svc.SetAdmin(f.ctx, f.admin, "bob", false) },
			[]RevokeEvent{{UserID: bob.UserID, Reason: "admin removed"}},
			map[string]bool{"bob": true}},
		{"removing a user",
			func() error { return f.svc.RemoveUser(f.ctx, f.admin, "ann") },
			[]RevokeEvent{{UserID: ann.UserID, Reason: "user removed"}},
			map[string]bool{"ann": true}},
		{"removing a project",
			func() error { return f.svc.RemoveProject(f.ctx, f.admin, "web") },
			[]RevokeEvent{{Project: "web", Reason: "project removed"}},
			map[string]bool{"ann": true, "bob": true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.do(); err != nil {
				t.Fatal(err)
			}
			got := f.takeEvents()
			if len(got) != len(tt.want) {
				t.Fatalf("events = %+v, want %+v", got, tt.want)
			}
			for i := range got {
				if got[i] != tt.want[i] {
					t.Errorf("event = %+v, want %+v", got[i], tt.want[i])
				}
				for who, p := range map[string]Principal{"ann": ann, "bob": bob} {
					if a := got[i].Affects(p, "web"); a != tt.affected[who] {
						t.Errorf("Affects(%s) = %v", who, a)
					}
				}
			}
		})
	}
	// After all that, ann's old principal is dead and bob's project is gone.
	if _, err := f.svc.Authorize(f.ctx, ann, "web", ActionRead); !errors.Is(err, ErrUnauthenticated) {
		t.Errorf("removed user still authorized: %v", err)
	}
	// A project re-created under the same name does not inherit members.
	f.project(t, "web")
	if _, err := f.svc.Authorize(f.ctx, bob, "web", ActionRead); !errors.Is(err, ErrNotFound) {
		t.Errorf("old member sees the re-created project: %v", err)
	}
	if v := testutil.ToFloat64(f.svc.revocations.WithLabelValues("role")); v != 2 {
		t.Errorf("role revocations counted %v", v)
	}
}

func TestFailedAuthenticationIsRateLimited(t *testing.T) {
	rl, err := ratelimit.New(ratelimit.Config{AuthFailures: ratelimit.Rate{PerSecond: 0.01, Burst: 3}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	f := newFixture(t, rl)
	for range 3 {
		if _, err := f.svc.Authenticate(f.ctx, "198.51.100.7:4000", newSecret(TokenPrefix)); !errors.Is(err, ErrUnauthenticated) {
			t.Fatal(err)
		}
	}
	// Now even the right token is refused from that address, with a hint
	// when to retry, while other addresses are unaffected.
	_, err = f.svc.Authenticate(f.ctx, "198.51.100.7:4001", f.adminToken)
	var re *ratelimit.RetryError
	if !errors.Is(err, ErrUnauthenticated) || !errors.As(err, &re) || re.RetryAfter <= 0 {
		t.Errorf("blocked address got %v", err)
	}
	if _, err := f.svc.Authenticate(f.ctx, "198.51.100.8:4000", f.adminToken); err != nil {
		t.Errorf("other address refused: %v", err)
	}
	if _, _, err := f.svc.RedeemLoginCode(f.ctx, "198.51.100.7:1", newSecret(LoginCodePrefix)); !errors.As(err, &re) {
		t.Errorf("login code redeem not limited: %v", err)
	}
}

func TestPermissionChangesAreAudited(t *testing.T) {
	f := newFixture(t, nil)
	f.project(t, "web")
	ann := f.user(t, "ann")
	ctx := audit.WithRequestID(f.ctx, "req-42")
	if err := f.svc.Grant(ctx, f.admin, "web", "ann", RoleReader); err != nil {
		t.Fatal(err)
	}
	_ = f.svc.Grant(ctx, ann, "web", "ann", RoleOwner) // denied: readers cannot promote themselves
	if err := f.log.Flush(f.ctx); err != nil {
		t.Fatal(err)
	}
	got, err := f.log.Query(f.ctx, audit.Filter{Project: "web"})
	if err != nil {
		t.Fatal(err)
	}
	var grants []audit.Entry
	for _, e := range got {
		if e.Action == "role.grant" {
			grants = append(grants, e)
		}
	}
	if len(grants) != 2 {
		t.Fatalf("grants audited: %+v", got)
	}
	if g := grants[0]; g.Actor != f.admin.UserID || g.Target != "ann" || g.Detail != "reader" || g.Outcome != audit.OutcomeOK || g.RequestID != "req-42" {
		t.Errorf("grant entry = %+v", g)
	}
	if g := grants[1]; g.Actor != ann.UserID || g.Outcome != audit.OutcomeDenied {
		t.Errorf("denied grant entry = %+v", g)
	}

	// Reading the trail: owners their project's, admins everything.
	if _, err := f.svc.Audit(f.ctx, ann, audit.Filter{Project: "web"}); !errors.Is(err, ErrForbidden) {
		t.Errorf("reader read the audit trail: %v", err)
	}
	if _, err := f.svc.Audit(f.ctx, ann, audit.Filter{}); !errors.Is(err, ErrForbidden) {
		t.Errorf("non-admin read the hub-wide trail: %v", err)
	}
	if err := f.svc.Grant(f.ctx, f.admin, "web", "ann", RoleOwner); err != nil {
		t.Fatal(err)
	}
	_ = f.log.Flush(f.ctx)
	mine, err := f.svc.Audit(f.ctx, ann, audit.Filter{Project: "web", Since: f.clock.now().Add(-time.Hour)})
	if err != nil || len(mine) < 3 {
		t.Errorf("owner's audit query = %d entries, %v", len(mine), err)
	}
	all, err := f.svc.Audit(f.ctx, f.admin, audit.Filter{Actor: f.admin.UserID})
	if err != nil || len(all) <= len(mine) {
		t.Errorf("admin's audit query = %d entries, %v", len(all), err)
	}
}

func TestUpdateProjectPermissions(t *testing.T) {
	f := newFixture(t, nil)
	f.project(t, "web")
	olive := f.user(t, "olive")
	if err := f.svc.Grant(f.ctx, f.admin, "web", "olive", RoleOwner); err != nil {
		t.Fatal(err)
	}
	sb := sandbox.Policy{Enabled: true, ReadOnly: true}
	if _, err := f.svc.UpdateProject(f.ctx, olive, "web", project.Patch{Sandbox: &sb}); err != nil {
		t.Errorf("owner cannot change sandbox: %v", err)
	}
	root := "/etc"
	if _, err := f.svc.UpdateProject(f.ctx, olive, "web", project.Patch{Root: &root}); !errors.Is(err, ErrForbidden) {
		t.Errorf("owner moved the root: %v", err)
	}
	newRoot := filepath.Join(f.base, "moved")
	if err := os.Mkdir(newRoot, 0o755); err != nil {
		t.Fatal(err)
	}
	f.takeEvents()
	if _, err := f.svc.UpdateProject(f.ctx, f.admin, "web", project.Patch{Root: &newRoot}); err != nil {
		t.Fatal(err)
	}
	if ev := f.takeEvents(); len(ev) != 1 || ev[0].Project != "web" {
		t.Errorf("moving the root published %+v", ev)
	}
	if err := f.svc.RemoveProject(f.ctx, olive, "web"); !errors.Is(err, ErrForbidden) {
		t.Errorf("owner removed project: %v", err)
	}
}
