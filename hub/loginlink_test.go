package hub_test

import (
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"testing"

	"github.com/gorilla/websocket"

	"github.com/rubberduckhub/rubberduck/hub/hubtest"
	"github.com/rubberduckhub/rubberduck/lsp/protocol"
)

// TestAnyoneCanSignTheirBrowserIn: a person with an API token asks for a
// login link, and opening it signs their browser in as them; the link
// works once.
func TestAnyoneCanSignTheirBrowserIn(t *testing.T) {
	h := hubtest.Start(t)
	owner := h.Connect(t)
	tok := addPerson(t, owner, "rita", "reader")
	c := h.DialWith(t, hubtest.Auth(tok), nil)
	hubtest.Initialize(t, c, "")
	var link protocol.LoginLinkResult
	if err := c.Call(ctx(t), protocol.MethodLoginLink, nil, &link); err != nil {
		t.Fatal(err)
	}
	base := strings.TrimSuffix(strings.Replace(h.LSPURL(), "ws://", "http://", 1), "/lsp")
	u, err := url.Parse(base + link.Path)
	if err != nil {
		t.Fatal(err)
	}
	jar, _ := cookiejar.New(nil)
	browser := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	signIn := func() int {
		req, _ := http.NewRequest(http.MethodPost, base+"/login", strings.NewReader(url.Values{"code": {u.Query().Get("code")}}.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Origin", base)
		resp, err := browser.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		_ = resp.Body.Close()
		return resp.StatusCode
	}
	if code := signIn(); code != http.StatusSeeOther {
		t.Fatalf("sign-in answered %d", code)
	}
	// The browser's cookie opens a session as rita.
	hdr := http.Header{"Origin": {base}}
	for _, ck := range jar.Cookies(u) {
		hdr.Add("Cookie", ck.String())
	}
	ws, resp, err := websocket.DefaultDialer.Dial(h.LSPURL(), hdr)
	if err != nil {
		t.Fatalf("browser session refused: %v (%v)", err, resp)
	}
	_ = ws.Close()
	if code := signIn(); code == http.StatusSeeOther {
		t.Fatal("the link worked twice")
	}
}
