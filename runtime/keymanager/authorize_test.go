package keymanager

import (
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/turnpike/turnpike/runtime/identity"
)

const callback = "https://app.example.com/callback"

// authorize sends GET /oauth2/authorize with the session cookie (if any).
func (f *fixture) authorize(q url.Values, cookie string) answer {
	f.t.Helper()
	req, _ := http.NewRequest(http.MethodGet, f.srv.URL+"/oauth2/authorize?"+q.Encode(), nil)
	if cookie != "" {
		req.AddCookie(&http.Cookie{Name: "turnpike_session", Value: cookie})
	}
	return f.do(req)
}

func location(t *testing.T, a answer) *url.URL {
	t.Helper()
	u, err := url.Parse(a.header.Get("Location"))
	if err != nil || a.header.Get("Location") == "" {
		t.Fatalf("no redirect: %d %s", a.status, a.raw)
	}
	return u
}

// TestAuthorizationCodePKCE runs authorization_code with PKCE S256 through the portal login.
func TestAuthorizationCodePKCE(t *testing.T) {
	t.Parallel()
	eachFixture(t, nil, func(t *testing.T, f *fixture) {
		u := f.user("carl")
		app := f.app(u, "Web app")
		k := f.keys(u, app.ID, []string{GrantAuthorizationCode, GrantRefreshToken}, callback)
		verifier, challenge := pkce()
		q := url.Values{"response_type": {"code"}, "client_id": {k.ConsumerKey}, "redirect_uri": {callback},
			"state": {"xyz"}, "code_challenge": {challenge}, "code_challenge_method": {"S256"}, "scope": {"read"}}

		// Without a session: to the portal login, which comes back here.
		a := f.authorize(q, "")
		loc := location(t, a)
		if a.status != http.StatusFound || loc.Path != "/devportal/login" || !strings.HasPrefix(loc.Query().Get("next"), "/oauth2/authorize?") {
			t.Fatalf("no session: %d %s", a.status, loc)
		}
		next, _ := url.Parse(loc.Query().Get("next"))
		if next.Query().Get("code_challenge") != challenge {
			t.Errorf("next loses the request: %s", next)
		}

		// Signed in, own application: no consent step (first-party).
		cookie := f.login(u)
		a = f.authorize(q, cookie)
		loc = location(t, a)
		code := loc.Query().Get("code")
		if a.status != http.StatusFound || !strings.HasPrefix(loc.String(), callback+"?") || code == "" ||
			loc.Query().Get("state") != "xyz" || loc.Query().Get("iss") != testIssuer {
			t.Fatalf("authorize: %d %s", a.status, loc)
		}
		tokenReq := func(code, verifier, redirect string) answer {
			return f.post("/oauth2/token", url.Values{"grant_type": {"authorization_code"}, "code": {code},
				"redirect_uri": {redirect}, "code_verifier": {verifier}}, k.ConsumerKey, *k.ConsumerSecret)
		}
		wrongVerifier, _ := pkce()
		if a := tokenReq(code, wrongVerifier, callback); a.str("error") != "invalid_grant" {
			t.Fatalf("wrong verifier: %d %s", a.status, a.raw)
		}
		if a := tokenReq(code, verifier, callback+"/other"); a.str("error") != "invalid_grant" {
			t.Fatalf("wrong redirect_uri: %d %s", a.status, a.raw)
		}
		ok := tokenReq(code, verifier, callback)
		if ok.status != 200 || ok.str("refresh_token") == "" || ok.str("scope") != "read" {
			t.Fatalf("exchange: %d %s", ok.status, ok.raw)
		}
		claims := thirdPartyVerify(t, f.srv.URL+"/oauth2/jwks", ok.str("access_token"))
		if claims["sub"] != u.UserID || claims["username"] != "carl" {
			t.Errorf("claims %v", claims)
		}
		// A replayed code fails and revokes what the code gave.
		if a := tokenReq(code, verifier, callback); a.str("error") != "invalid_grant" {
			t.Fatalf("replayed code: %d %s", a.status, a.raw)
		}
		in := f.post("/oauth2/introspect", url.Values{"token": {ok.str("access_token")}}, k.ConsumerKey, *k.ConsumerSecret)
		if in.body["active"] != false {
			t.Errorf("access token of a replayed code still active: %s", in.raw)
		}
		if a := f.post("/oauth2/token", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {ok.str("refresh_token")}}, k.ConsumerKey, *k.ConsumerSecret); a.str("error") != "invalid_grant" {
			t.Errorf("refresh token of a replayed code still works: %s", a.raw)
		}

		// Errors before the client and redirect URI are known: a page, never a redirect.
		pageCases := []struct {
			desc string
			set  map[string]string
		}{
			{"unknown client", map[string]string{"client_id": "nobody"}},
			{"missing client", map[string]string{"client_id": ""}},
			{"foreign redirect_uri", map[string]string{"redirect_uri": "https://evil.example.com/cb"}},
			{"turnpike-cli to a non-loopback address", map[string]string{"client_id": CLIClientID, "redirect_uri": "https://evil.example.com/cb"}},
		}
		for _, c := range pageCases {
			t.Run(c.desc, func(t *testing.T) {
				bad := cloneValues(q)
				for k, v := range c.set {
					bad.Set(k, v)
				}
				a := f.authorize(bad, cookie)
				if a.status != http.StatusBadRequest || a.header.Get("Location") != "" || !strings.Contains(a.header.Get("Content-Type"), "text/html") {
					t.Fatalf("%d Location=%q", a.status, a.header.Get("Location"))
				}
			})
		}
		// Errors after: redirected back with error and state.
		redirectCases := []struct {
			desc, code string
			set        map[string]string
		}{
			{"plain PKCE", "invalid_request", map[string]string{"code_challenge_method": "plain"}},
			{"no PKCE", "invalid_request", map[string]string{"code_challenge": "", "code_challenge_method": ""}},
			{"malformed challenge", "invalid_request", map[string]string{"code_challenge": "abc"}},
			{"token response type", "unsupported_response_type", map[string]string{"response_type": "token"}},
			{"malformed scope", "invalid_scope", map[string]string{"scope": `a\b`}},
		}
		for _, c := range redirectCases {
			t.Run(c.desc, func(t *testing.T) {
				bad := cloneValues(q)
				for k, v := range c.set {
					if v == "" {
						bad.Del(k)
					} else {
						bad.Set(k, v)
					}
				}
				a := f.authorize(bad, cookie)
				loc := location(t, a)
				if a.status != http.StatusFound || loc.Query().Get("error") != c.code || loc.Query().Get("state") != "xyz" || loc.Query().Get("code") != "" {
					t.Fatalf("%d %s", a.status, loc)
				}
			})
		}
		// An application without the grant.
		plain := f.app(u, "No code")
		kp := f.keys(u, plain.ID, []string{GrantClientCredentials, GrantRefreshToken}, callback)
		bad := cloneValues(q)
		bad.Set("client_id", kp.ConsumerKey)
		if loc := location(t, f.authorize(bad, cookie)); loc.Query().Get("error") != "unauthorized_client" {
			t.Errorf("no grant: %s", loc)
		}
	})
}

func cloneValues(q url.Values) url.Values {
	out := url.Values{}
	for k, v := range q {
		out[k] = append([]string(nil), v...)
	}
	return out
}

var hiddenField = regexp.MustCompile(`<input type="hidden" name="([a-z_]+)" value="([^"]*)">`)

// TestAuthorizeConsent: another user's application needs the user's consent on a page
// whose form is bound to the session.
func TestAuthorizeConsent(t *testing.T) {
	t.Parallel()
	eachFixture(t, nil, func(t *testing.T, f *fixture) {
		dev := f.user("dora")
		user := f.user("ulf")
		app := f.app(dev, "Third party")
		k := f.keys(dev, app.ID, []string{GrantAuthorizationCode}, callback)
		_, challenge := pkce()
		q := url.Values{"response_type": {"code"}, "client_id": {k.ConsumerKey}, "state": {"s1"},
			"code_challenge": {challenge}, "code_challenge_method": {"S256"}}
		cookie := f.login(user)
		page := f.authorize(q, cookie)
		if page.status != 200 || !strings.Contains(page.raw, "Third party") || page.header.Get("X-Frame-Options") != "DENY" {
			t.Fatalf("consent page: %d %s", page.status, page.raw)
		}
		fields := url.Values{}
		for _, m := range hiddenField.FindAllStringSubmatch(page.raw, -1) {
			fields.Set(m[1], htmlUnescape(m[2]))
		}
		if fields.Get("consent") == "" {
			t.Fatalf("no consent token in %s", page.raw)
		}
		submit := func(form url.Values, cookie string) answer {
			req, _ := http.NewRequest(http.MethodPost, f.srv.URL+"/oauth2/authorize", strings.NewReader(form.Encode()))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			req.AddCookie(&http.Cookie{Name: "turnpike_session", Value: cookie})
			return f.do(req)
		}
		// Another session cannot replay the form (CSRF).
		attacker := f.login(f.user("mallory"))
		allow := cloneValues(fields)
		allow.Set("decision", "allow")
		if a := submit(allow, attacker); a.status != http.StatusBadRequest {
			t.Errorf("form of another session: %d %s", a.status, a.header.Get("Location"))
		}
		// A tampered form fails.
		tampered := cloneValues(allow)
		tampered.Set("state", "other")
		if a := submit(tampered, cookie); a.status != http.StatusBadRequest {
			t.Errorf("tampered form: %d", a.status)
		}
		deny := cloneValues(fields)
		deny.Set("decision", "deny")
		if loc := location(t, submit(deny, cookie)); loc.Query().Get("error") != "access_denied" || loc.Query().Get("state") != "s1" {
			t.Errorf("deny: %s", loc)
		}
		a := submit(allow, cookie)
		if loc := location(t, a); a.status != http.StatusSeeOther || loc.Query().Get("code") == "" {
			t.Errorf("allow: %d %s", a.status, loc)
		}
	})
}

func htmlUnescape(s string) string {
	r := strings.NewReplacer("&amp;", "&", "&#43;", "+", "&#34;", `"`, "&#39;", "'", "&lt;", "<", "&gt;", ">")
	return r.Replace(s)
}

// TestAuthorizeCLILoopback: turnpike-cli uses authorization_code with loopback redirects.
func TestAuthorizeCLILoopback(t *testing.T) {
	t.Parallel()
	eachFixture(t, nil, func(t *testing.T, f *fixture) {
		u := f.user("lou", identity.Creator)
		verifier, challenge := pkce()
		redirect := "http://127.0.0.1:53682/callback"
		q := url.Values{"response_type": {"code"}, "client_id": {CLIClientID}, "redirect_uri": {redirect},
			"code_challenge": {challenge}, "code_challenge_method": {"S256"}}
		loc := location(t, f.authorize(q, f.login(u)))
		code := loc.Query().Get("code")
		if code == "" {
			t.Fatalf("no code: %s", loc)
		}
		a := f.post("/oauth2/token", url.Values{"grant_type": {"authorization_code"}, "client_id": {CLIClientID}, "code": {code},
			"redirect_uri": {redirect}, "code_verifier": {verifier}}, "", "")
		if a.status != 200 {
			t.Fatalf("exchange: %d %s", a.status, a.raw)
		}
		actor, err := f.km.VerifyAccessToken(t.Context(), a.str("access_token"))
		if err != nil || actor.UserID != u.UserID || !actor.Has(identity.Creator) {
			t.Errorf("actor %+v, %v", actor, err)
		}
	})
}
