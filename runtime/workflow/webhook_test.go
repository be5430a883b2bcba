package workflow_test

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/uptrace/bun"

	"github.com/turnpike/turnpike/db/apimgtdb"
	"github.com/turnpike/turnpike/db/dbs"
	"github.com/turnpike/turnpike/db/dbtest"
	"github.com/turnpike/turnpike/internal/wait"
	"github.com/turnpike/turnpike/runtime/apperr"
	"github.com/turnpike/turnpike/runtime/identity"
	"github.com/turnpike/turnpike/runtime/workflow"
)

var admin = identity.Actor{UserID: "u-admin", Username: "admin", Roles: []identity.Role{identity.Admin}}

type received struct {
	body []byte
	sig  string
}

// TestWebhookPostsSignedEvents: each new task and decision is posted as JSON signed with
// the stored secret (checked here with an independent HMAC); a failing receiver is retried
// until it answers 2xx.
func TestWebhookPostsSignedEvents(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, set *dbs.Set) {
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		var mu sync.Mutex
		var got []received
		failures := 2 // the first two posts fail
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			body, _ := io.ReadAll(r.Body)
			mu.Lock()
			defer mu.Unlock()
			if failures > 0 {
				failures--
				w.WriteHeader(http.StatusServiceUnavailable)
				return
			}
			got = append(got, received{body: body, sig: r.Header.Get(workflow.SignatureHeader)})
		}))
		defer srv.Close()

		key := make([]byte, 32)
		_, _ = rand.Read(key)
		wf, err := workflow.New(workflow.Options{APIMgtDB: set.APIMgt, EncryptionKey: key, RetryBase: 20 * time.Millisecond,
			Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
		if err != nil {
			t.Fatal(err)
		}
		wf.Handle(workflow.UserSignup, func(ctx context.Context, _ workflow.Task, _ bool, _ *string, decide workflow.Decide) error {
			return wf.InTx(ctx, func(ctx context.Context, tx bun.Tx) error { return decide(ctx, tx) })
		})
		for _, bad := range []string{"ftp://example.com/hook", "not a url", "http://user:pw@example.com/"} {
			if _, err := wf.SetWebhook(ctx, admin, &bad, nil); !apperr.Is(err, apperr.Invalid) {
				t.Errorf("url %q accepted: %v", bad, err)
			}
		}
		if _, err := wf.SetWebhook(ctx, identity.Actor{UserID: "u-sally", Roles: []identity.Role{identity.Subscriber}}, &srv.URL, nil); !apperr.Is(err, apperr.Forbidden) {
			t.Errorf("a subscriber set the webhook: %v", err)
		}
		secret := "s3cret-for-hmac"
		w, err := wf.SetWebhook(ctx, admin, &srv.URL, &secret)
		if err != nil || !w.SecretSet || w.URL == nil || *w.URL != srv.URL {
			t.Fatalf("webhook %+v, %v", w, err)
		}
		// The secret is stored sealed, never in the clear.
		row, err := apimgtdb.LoadWorkflowWebhook(ctx, set.APIMgt)
		if err != nil || row.SecretSealed == nil || *row.SecretSealed == secret {
			t.Fatalf("stored %+v, %v", row, err)
		}
		// nil keeps the secret.
		if w, err := wf.SetWebhook(ctx, admin, &srv.URL, nil); err != nil || !w.SecretSet {
			t.Fatalf("secret dropped: %+v, %v", w, err)
		}

		go func() { _ = wf.Run(ctx, 50*time.Millisecond) }()
		if err := wf.OpenSignUp(ctx, "u-newbie", "newbie"); err != nil {
			t.Fatal(err)
		}
		tasks, err := wf.Tasks(ctx, admin, workflow.Pending)
		if err != nil || len(tasks) != 1 {
			t.Fatalf("tasks %+v, %v", tasks, err)
		}
		comment := "ok"
		if _, err := wf.DecideTask(ctx, admin, tasks[0].ID, true, &comment); err != nil {
			t.Fatal(err)
		}
		wait.For(t, 30*time.Second, "two webhook posts", func() bool {
			mu.Lock()
			defer mu.Unlock()
			return len(got) >= 2
		})
		mu.Lock()
		defer mu.Unlock()
		events := map[string]workflow.Event{}
		for _, r := range got {
			m := hmac.New(sha256.New, []byte(secret))
			m.Write(r.body)
			if want := "sha256=" + hex.EncodeToString(m.Sum(nil)); r.sig != want {
				t.Errorf("signature %q, want %q", r.sig, want)
			}
			var ev workflow.Event
			if err := json.Unmarshal(r.body, &ev); err != nil {
				t.Fatal(err)
			}
			events[ev.Event] = ev
		}
		c, d := events["task.created"], events["task.decided"]
		if c.Task.ID != tasks[0].ID || c.Task.Status != "PENDING" || c.Task.Type != "USER_SIGNUP" || c.Task.RequestedBy.Username != "newbie" {
			t.Errorf("created event %+v", c)
		}
		if d.Task.ID != tasks[0].ID || d.Task.Status != "APPROVED" || d.Task.DecidedBy == nil || d.Task.DecidedBy.Username != "admin" ||
			d.Task.Comment == nil || *d.Task.Comment != "ok" || d.Task.DecidedAt == nil {
			t.Errorf("decided event %+v", d)
		}
		if failures != 0 {
			t.Errorf("%d failing answers never asked for", failures)
		}
		mu.Unlock()
		// A delivery is removed once its post was answered 2xx.
		wait.NoError(t, 30*time.Second, func() error {
			n, err := set.APIMgt.NewSelect().Model((*apimgtdb.WorkflowDelivery)(nil)).Count(ctx)
			if err == nil && n != 0 {
				err = fmt.Errorf("%d deliveries still queued", n)
			}
			return err
		})
		mu.Lock()
	})
}
