package bench

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/base64"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/turnpike/turnpike/db/dbtest"
	"github.com/turnpike/turnpike/db/userdb"
	"github.com/turnpike/turnpike/runtime/contract"
	"github.com/turnpike/turnpike/runtime/devportal"
	"github.com/turnpike/turnpike/runtime/identity"
	"github.com/turnpike/turnpike/runtime/keymanager"
)

// cpuTime is the process's user plus system CPU time so far.
func cpuTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// reportPerToken reports CPU microseconds and tokens per second (of wall time) per iteration.
func reportPerToken(b *testing.B, cpu time.Duration, wall time.Duration) {
	n := float64(b.N)
	b.ReportMetric(float64(cpu.Microseconds())/n, "cpu-µs/token")
	b.ReportMetric(n/wall.Seconds(), "tokens/s")
}

// BenchmarkTokenClientCredentials measures POST /oauth2/token with client_credentials
// (HTTP Basic) through the Key Manager's full handler, in-process, on SQLite: form parsing,
// client authentication (SHA-256 and constant-time compare of the secret), the client and
// owner lookups (cached: the default; nocache: two SQLite queries each), the ES256 JWT and
// the JSON response. Compare its cpu-µs/token with BenchmarkJWTSignOnly's, measured in the
// same run: the difference is what the endpoint adds to the signature. Target: less than
// the signature itself.
func BenchmarkTokenClientCredentials(b *testing.B) {
	for _, c := range []struct {
		name string
		ttl  time.Duration
	}{{"cached", 0}, {"nocache", -1}} {
		b.Run(c.name, func(b *testing.B) {
			be := dbtest.Backends(b)[0] // SQLite
			set := dbtest.Open(b, be)
			ctx := context.Background()
			now := time.Now().UTC()
			owner := identity.Actor{UserID: "u-bench", Username: "bench", Roles: []identity.Role{identity.Subscriber}}
			if err := userdb.InsertUser(ctx, set.User, &userdb.User{ID: owner.UserID, Username: "bench", UsernameKey: "bench",
				PasswordHash: "x", Roles: "SUBSCRIBER", CreatedAt: now, UpdatedAt: now}); err != nil {
				b.Fatal(err)
			}
			key := make([]byte, 32)
			_, _ = rand.Read(key)
			km, err := keymanager.New(ctx, keymanager.Options{
				APIMgtDB: set.APIMgt, UserDB: set.User, EncryptionKey: key, Issuer: "https://apim.bench.test",
				ClientCacheTTL: c.ttl, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
			})
			if err != nil {
				b.Fatal(err)
			}
			dp, err := devportal.New(devportal.Options{APIMgtDB: set.APIMgt, RegDB: set.Reg})
			if err != nil {
				b.Fatal(err)
			}
			app, err := dp.CreateApplication(ctx, owner, devportal.CreateApplicationInput{Name: "Bench"})
			if err != nil {
				b.Fatal(err)
			}
			keys, err := km.GenerateKeys(ctx, owner, app.ID, contract.KeyProduction, []string{keymanager.GrantClientCredentials}, nil)
			if err != nil {
				b.Fatal(err)
			}
			h := km.Handler()
			auth := "Basic " + base64.StdEncoding.EncodeToString([]byte(url.QueryEscape(keys.ConsumerKey)+":"+url.QueryEscape(*keys.ConsumerSecret)))
			body := "grant_type=client_credentials"
			call := func() *httptest.ResponseRecorder {
				req := httptest.NewRequest(http.MethodPost, "/oauth2/token", strings.NewReader(body))
				req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
				req.Header.Set("Authorization", auth)
				rec := httptest.NewRecorder()
				h.ServeHTTP(rec, req)
				return rec
			}
			if rec := call(); rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), "access_token") {
				b.Fatalf("token: %d %s", rec.Code, rec.Body)
			}
			b.ReportAllocs()
			cpu0, wall0 := cpuTime(b), time.Now()
			for b.Loop() {
				if rec := call(); rec.Code != http.StatusOK {
					b.Fatalf("token: %d %s", rec.Code, rec.Body)
				}
			}
			reportPerToken(b, cpuTime(b)-cpu0, time.Since(wall0))
		})
	}
}

// benchClaims adapts contract.AccessTokenClaims to golang-jwt, as the Key Manager does.
type benchClaims struct{ contract.AccessTokenClaims }

func (c *benchClaims) GetExpirationTime() (*jwt.NumericDate, error) {
	return jwt.NewNumericDate(time.Unix(c.ExpiresAt, 0)), nil
}
func (c *benchClaims) GetIssuedAt() (*jwt.NumericDate, error) {
	return jwt.NewNumericDate(time.Unix(c.IssuedAt, 0)), nil
}
func (c *benchClaims) GetNotBefore() (*jwt.NumericDate, error) { return nil, nil }
func (c *benchClaims) GetIssuer() (string, error)              { return c.Issuer, nil }
func (c *benchClaims) GetSubject() (string, error)             { return c.Subject, nil }
func (c *benchClaims) GetAudience() (jwt.ClaimStrings, error)  { return c.Audience, nil }

// BenchmarkJWTSignOnly is the baseline of BenchmarkTokenClientCredentials: the same claims
// (an application token) encoded and signed ES256 with golang-jwt, nothing else.
func BenchmarkJWTSignOnly(b *testing.B) {
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		b.Fatal(err)
	}
	now := time.Now()
	claims := &benchClaims{contract.AccessTokenClaims{
		Issuer: "https://apim.bench.test", Subject: "u-bench", Audience: []string{contract.DefaultAudience},
		ExpiresAt: now.Add(time.Hour).Unix(), IssuedAt: now.Unix(), JTI: "bGlrZSBhIGp0aSBvZiAxNiBi", ClientID: "Y29uc3VtZXIta2V5LTI0Y2g",
		Username:    "bench",
		Application: &contract.TokenApplication{ID: "3f2c9a56-0d7e-4c8b-9a51-2d6f1c0b7e44", Name: "Bench", Owner: "bench", Tier: "Unlimited"},
		KeyType:     contract.KeyProduction,
	}}
	b.ReportAllocs()
	cpu0, wall0 := cpuTime(b), time.Now()
	for b.Loop() {
		t := jwt.NewWithClaims(jwt.SigningMethodES256, claims)
		t.Header["typ"] = contract.TokenType
		t.Header["kid"] = "Zm9vYmFyYmF6cXV4cXV1eGZvb2JhcmJhenF1eHF1dXg"
		if _, err := t.SignedString(priv); err != nil {
			b.Fatal(err)
		}
	}
	reportPerToken(b, cpuTime(b)-cpu0, time.Since(wall0))
}
