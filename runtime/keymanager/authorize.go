package keymanager

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"html/template"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/turnpike/turnpike/db"
	"github.com/turnpike/turnpike/db/apimgtdb"
	"github.com/turnpike/turnpike/runtime/apperr"
	"github.com/turnpike/turnpike/runtime/identity"
)

// consentTTL is how long a consent form stays valid.
const consentTTL = 10 * time.Minute

// authzRequest is a checked authorization request (RFC 6749 §4.1.1 with RFC 7636).
type authzRequest struct {
	client        *client
	clientID      string
	redirectParam string // as sent ("" when omitted: the registered callback is used)
	redirectURI   string // where to send the answer
	scope         []string
	state         string
	challenge     string
}

// authzParams are the parameters an authorization request carries (and the consent form
// repeats).
var authzParams = []string{"response_type", "client_id", "redirect_uri", "scope", "state", "code_challenge", "code_challenge_method"}

// parseAuthorize checks an authorization request. A bad client or redirect URI is shown on
// a page (never redirected to: RFC 6749 §4.1.2.1); other errors go back to the client.
func (s *Service) parseAuthorize(r *http.Request, q url.Values) (ar *authzRequest, redirectErr *oauthError, pageErr string) {
	for _, k := range authzParams {
		if len(q[k]) > 1 && (k == "client_id" || k == "redirect_uri") {
			return nil, nil, "The parameter " + k + " is repeated."
		}
	}
	ar = &authzRequest{clientID: q.Get("client_id"), redirectParam: q.Get("redirect_uri"), state: q.Get("state")}
	if ar.clientID == "" {
		return nil, nil, "The request names no client (client_id)."
	}
	c, err := s.lookupClient(r.Context(), ar.clientID)
	if err != nil {
		s.log.Error("authorize: look up client", "err", err)
		return nil, nil, "The request cannot be handled now; try again later."
	}
	if c == nil {
		return nil, nil, "The client is unknown."
	}
	ar.client = c
	switch {
	case c.public:
		if !loopbackRedirect(ar.redirectParam) {
			return nil, nil, "turnpike-cli must redirect to a loopback address (http://127.0.0.1:<port>/..., http://[::1]:<port>/... or http://localhost:<port>/...)."
		}
		ar.redirectURI = ar.redirectParam
	case c.callbackURL == "":
		return nil, nil, "The application has no callback URL for these keys."
	case ar.redirectParam != "" && ar.redirectParam != c.callbackURL:
		return nil, nil, "The redirect_uri is not the application's callback URL."
	default:
		ar.redirectURI = c.callbackURL
	}
	for _, k := range authzParams {
		if len(q[k]) > 1 {
			return ar, errInvalidRequest("the parameter %s is repeated", k), ""
		}
	}
	if rt := q.Get("response_type"); rt != "code" {
		return ar, &oauthError{Code: "unsupported_response_type", Description: "only response_type=code is supported"}, ""
	}
	if !c.allows(GrantAuthorizationCode) {
		return ar, errUnauthorizedClient("the application does not allow the authorization_code grant for these keys"), ""
	}
	ar.challenge = q.Get("code_challenge")
	if ar.challenge == "" {
		return ar, errInvalidRequest("code_challenge is required (PKCE with S256)"), ""
	}
	if m := q.Get("code_challenge_method"); m != "S256" {
		return ar, errInvalidRequest("code_challenge_method must be S256"), ""
	}
	if b, err := base64.RawURLEncoding.DecodeString(ar.challenge); err != nil || len(b) != sha256.Size {
		return ar, errInvalidRequest("code_challenge must be the base64url SHA-256 of the code_verifier"), ""
	}
	sc, ok := parseScope(q.Get("scope"))
	if !ok {
		return ar, errInvalidScope("the scope is malformed"), ""
	}
	ar.scope = sc
	return ar, nil, ""
}

// loopbackRedirect tells whether u is an http loopback redirect (RFC 8252 §7.3; any port).
func loopbackRedirect(u string) bool {
	p, err := url.Parse(u)
	if err != nil || p.Scheme != "http" || p.Fragment != "" || p.User != nil {
		return false
	}
	host := p.Hostname()
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// redirectError sends an error back to the client's redirect URI.
func (s *Service) redirectError(w http.ResponseWriter, r *http.Request, ar *authzRequest, e *oauthError) {
	q := url.Values{"error": {e.Code}}
	if e.Description != "" {
		q.Set("error_description", errorDescription(e.Description))
	}
	s.redirectBack(w, r, ar, q)
}

func (s *Service) redirectBack(w http.ResponseWriter, r *http.Request, ar *authzRequest, params url.Values) {
	u, err := url.Parse(ar.redirectURI)
	if err != nil { // checked before; never happens
		s.page(w, http.StatusBadRequest, "Error", "The redirect URI is invalid.", nil)
		return
	}
	q := u.Query()
	for k, vs := range params {
		q[k] = vs
	}
	if ar.state != "" {
		q.Set("state", ar.state)
	}
	q.Set("iss", s.opt.Issuer) // RFC 9207
	u.RawQuery = q.Encode()
	status := http.StatusFound
	if r.Method == http.MethodPost {
		status = http.StatusSeeOther
	}
	noStore(w)
	http.Redirect(w, r, u.String(), status)
}

// toLogin sends a browser without a session to the portal's login, which comes back to the
// authorization request afterwards.
func (s *Service) toLogin(w http.ResponseWriter, r *http.Request, q url.Values) {
	next := "/oauth2/authorize?" + q.Encode()
	noStore(w)
	http.Redirect(w, r, s.opt.LoginPath+"?next="+url.QueryEscape(next), http.StatusFound)
}

// sessionActor finds the signed-in portal user; when the lookup itself fails it answers the
// request (503 while the database does not answer) and returns handled: such a failure must
// not send a signed-in user to the login page.
func (s *Service) sessionActor(w http.ResponseWriter, r *http.Request) (a identity.Actor, ok, handled bool) {
	if s.opt.Sessions == nil {
		return identity.Actor{}, false, false
	}
	a, ok, err := s.opt.Sessions.ActorFromRequest(r)
	if err != nil {
		status := http.StatusInternalServerError
		msg := "Something went wrong on our side; try again."
		if apperr.Is(err, apperr.Unavailable) || db.IsUnavailable(err) {
			status = http.StatusServiceUnavailable
			msg = "Turnpike is unavailable right now; try again in a few seconds."
			w.Header().Set("Retry-After", apperr.RetryAfterHeader())
		} else {
			s.log.Error("oauth2 authorize: session lookup", "err", err)
		}
		s.page(w, status, "Authorization failed", msg, nil)
		return identity.Actor{}, false, true
	}
	return a, ok && a.Authenticated(), false
}

// handleAuthorize is the authorization endpoint (authorization_code with PKCE S256 only),
// signed in through the portal's session cookie. Consent is skipped for first-party use —
// turnpike-cli and the user's own applications — and asked for on a page otherwise.
func (s *Service) handleAuthorize(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	ar, rerr, perr := s.parseAuthorize(r, q)
	if perr != "" {
		s.page(w, http.StatusBadRequest, "Authorization failed", perr, nil)
		return
	}
	if rerr != nil {
		s.redirectError(w, r, ar, rerr)
		return
	}
	actor, ok, handled := s.sessionActor(w, r)
	if handled {
		return
	}
	if !ok {
		s.toLogin(w, r, q)
		return
	}
	if ar.client.public || ar.client.ownerID == actor.UserID {
		s.approve(w, r, ar, actor)
		return
	}
	s.consentPage(w, ar, actor, q)
}

// handleConsent takes the consent form's answer.
func (s *Service) handleConsent(w http.ResponseWriter, r *http.Request) {
	form, oe := readForm(w, r)
	if oe != nil {
		s.page(w, http.StatusBadRequest, "Authorization failed", oe.Description, nil)
		return
	}
	q := url.Values{}
	for _, k := range authzParams {
		if form.Has(k) {
			q.Set(k, form.Get(k))
		}
	}
	ar, rerr, perr := s.parseAuthorize(r, q)
	if perr != "" {
		s.page(w, http.StatusBadRequest, "Authorization failed", perr, nil)
		return
	}
	if rerr != nil {
		s.redirectError(w, r, ar, rerr)
		return
	}
	actor, ok, handled := s.sessionActor(w, r)
	if handled {
		return
	}
	if !ok {
		s.toLogin(w, r, q)
		return
	}
	exp, err := strconv.ParseInt(form.Get("consent_exp"), 10, 64)
	if err != nil || s.opt.Now().Unix() > exp ||
		!hmac.Equal([]byte(form.Get("consent")), []byte(s.consentToken(actor, q, exp))) {
		s.page(w, http.StatusBadRequest, "Authorization failed", "The consent form has expired or does not belong to this session; start again from the application.", nil)
		return
	}
	if form.Get("decision") != "allow" {
		s.redirectError(w, r, ar, &oauthError{Code: "access_denied", Description: "the user denied the request"})
		return
	}
	s.approve(w, r, ar, actor)
}

// consentToken binds a consent form to the session, the request and an expiry.
func (s *Service) consentToken(actor identity.Actor, q url.Values, exp int64) string {
	mac := hmac.New(sha256.New, s.consentKey)
	parts := []string{actor.SessionID, actor.UserID, strconv.FormatInt(exp, 10)}
	for _, k := range authzParams {
		parts = append(parts, k+"="+q.Get(k))
	}
	mac.Write([]byte(strings.Join(parts, "\x00")))
	return base64.RawURLEncoding.EncodeToString(mac.Sum(nil))
}

// approve issues a code for the scopes the user's roles allow and sends it back.
func (s *Service) approve(w http.ResponseWriter, r *http.Request, ar *authzRequest, actor identity.Actor) {
	ctx := r.Context()
	bindings, err := s.scopeBindings(ctx, ar.scope)
	if err != nil {
		s.log.Error("authorize: scope bindings", "err", err)
		s.redirectError(w, r, ar, &oauthError{Code: "server_error", Description: "internal error"})
		return
	}
	granted := grantScopes(ar.scope, actor.Roles, bindings)
	code := randomToken(32)
	now := s.clock()
	row := &apimgtdb.AuthorizationCode{
		ID: hashSecret(code), ClientID: ar.client.id, UserID: actor.UserID, RedirectURI: ar.redirectParam,
		Scope: strings.Join(granted, " "), CodeChallenge: ar.challenge, FamilyID: uuid.NewString(),
		CreatedAt: now, ExpiresAt: now.Add(s.opt.AuthorizationCodeTTL),
	}
	if err := apimgtdb.InsertAuthorizationCode(ctx, s.apimgt, row); err != nil {
		s.log.Error("authorize: store code", "err", err)
		s.redirectError(w, r, ar, &oauthError{Code: "server_error", Description: "internal error"})
		return
	}
	s.redirectBack(w, r, ar, url.Values{"code": {code}})
}

var pageTemplate = template.Must(template.New("page").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{.Title}} · Turnpike</title>
<style>body{font-family:system-ui,sans-serif;max-width:32rem;margin:4rem auto;padding:0 1rem;color:#1f2937}
h1{font-size:1.4rem}ul{padding-left:1.2rem}button{font-size:1rem;padding:.5rem 1.2rem;margin-right:.5rem;cursor:pointer}
.muted{color:#6b7280;font-size:.9rem}</style></head>
<body><h1>{{.Title}}</h1><p>{{.Message}}</p>
{{with .Consent}}
<p><strong>{{.AppName}}</strong> (by {{.AppOwner}}) asks to act on your behalf as <strong>{{.Username}}</strong>{{if .Scopes}} with these scopes:{{else}}.{{end}}</p>
{{if .Scopes}}<ul>{{range .Scopes}}<li><code>{{.}}</code></li>{{end}}</ul>{{end}}
<form method="post" action="/oauth2/authorize">
{{range $k, $v := .Fields}}<input type="hidden" name="{{$k}}" value="{{$v}}">{{end}}
<button type="submit" name="decision" value="allow">Allow</button>
<button type="submit" name="decision" value="deny">Deny</button>
</form>
<p class="muted">You are signed in to Turnpike as {{.Username}}. You will be sent to {{.Redirect}}.</p>
{{end}}
</body></html>
`))

type consentView struct {
	AppName, AppOwner, Username, Redirect string
	Scopes                                []string
	Fields                                map[string]string
}

func (s *Service) page(w http.ResponseWriter, status int, title, msg string, consent *consentView) {
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "no-referrer")
	noStore(w)
	w.WriteHeader(status)
	if err := pageTemplate.Execute(w, struct {
		Title, Message string
		Consent        *consentView
	}{title, msg, consent}); err != nil {
		s.log.Error("authorize: render page", "err", err)
	}
}

func (s *Service) consentPage(w http.ResponseWriter, ar *authzRequest, actor identity.Actor, q url.Values) {
	exp := s.opt.Now().Add(consentTTL).Unix()
	fields := map[string]string{"consent": s.consentToken(actor, q, exp), "consent_exp": strconv.FormatInt(exp, 10)}
	for _, k := range authzParams {
		if q.Has(k) {
			fields[k] = q.Get(k)
		}
	}
	redirect := ar.redirectURI
	if u, err := url.Parse(redirect); err == nil {
		redirect = u.Scheme + "://" + u.Host
	}
	s.page(w, http.StatusOK, "Authorize "+ar.client.app.Name, "", &consentView{
		AppName: ar.client.app.Name, AppOwner: ar.client.app.Owner, Username: actor.Username,
		Redirect: redirect, Scopes: ar.scope, Fields: fields,
	})
}
