package workflow

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/uptrace/bun"

	"github.com/turnpike/turnpike/db"
	"github.com/turnpike/turnpike/db/apimgtdb"
	"github.com/turnpike/turnpike/runtime/apperr"
	"github.com/turnpike/turnpike/runtime/identity"
	"github.com/turnpike/turnpike/runtime/sealbox"
)

// SignatureHeader carries "sha256=" and the hex HMAC-SHA256 of the body under the secret.
const SignatureHeader = "X-Turnpike-Signature"

// secretAAD binds the sealed secret to the webhook setting.
var secretAAD = []byte("turnpike/workflow-webhook-secret")

// Poster posts a webhook request.
type Poster interface {
	Do(*http.Request) (*http.Response, error)
}

func defaultClient() Poster {
	return &http.Client{Timeout: 10 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error {
		return http.ErrUseLastResponse // a redirect is not a delivery
	}}
}

// Webhook is the webhook setting as admins see it: the secret is never returned.
type Webhook struct {
	URL       *string
	SecretSet bool
}

// Webhook returns the webhook setting.
func (s *Service) Webhook(ctx context.Context, actor identity.Actor) (Webhook, error) {
	if err := admin(actor); err != nil {
		return Webhook{}, err
	}
	w, err := apimgtdb.LoadWorkflowWebhook(ctx, s.db)
	if err != nil {
		return Webhook{}, db.Unavailable(err)
	}
	return Webhook{URL: w.URL, SecretSet: w.SecretSealed != nil}, nil
}

// SetWebhook sets the URL (nil or empty: no webhook; its queued deliveries are dropped when
// due) and, when secret is not nil, the signing secret (empty: none).
func (s *Service) SetWebhook(ctx context.Context, actor identity.Actor, rawURL, secret *string) (Webhook, error) {
	if err := admin(actor); err != nil {
		return Webhook{}, err
	}
	var u *string
	if rawURL != nil && strings.TrimSpace(*rawURL) != "" {
		v := strings.TrimSpace(*rawURL)
		if len(v) > MaxURLLength {
			return Webhook{}, apperr.Invalidf("url", "is longer than %d characters", MaxURLLength)
		}
		p, err := url.Parse(v)
		if err != nil || (p.Scheme != "http" && p.Scheme != "https") || p.Host == "" || p.User != nil || p.Fragment != "" {
			return Webhook{}, apperr.Invalidf("url", "must be an absolute http or https URL without user info or fragment")
		}
		u = &v
	}
	var out Webhook
	err := s.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		w, err := apimgtdb.LoadWorkflowWebhook(ctx, tx)
		if err != nil {
			return err
		}
		w.URL, w.UpdatedAt = u, s.clock()
		if secret != nil {
			if len(*secret) > MaxSecretLength {
				return apperr.Invalidf("secret", "is longer than %d bytes", MaxSecretLength)
			}
			w.SecretSealed = nil
			if *secret != "" {
				sealed, err := sealbox.Seal(s.key, secretAAD, []byte(*secret))
				if err != nil {
					return err
				}
				enc := base64.StdEncoding.EncodeToString(sealed)
				w.SecretSealed = &enc
			}
		}
		if err := apimgtdb.StoreWorkflowWebhook(ctx, tx, w); err != nil {
			return err
		}
		out = Webhook{URL: w.URL, SecretSet: w.SecretSealed != nil}
		return nil
	})
	if err != nil {
		return Webhook{}, db.Unavailable(err)
	}
	return out, nil
}

// Event is the JSON body posted to the webhook.
type Event struct {
	Event string    `json:"event"` // task.created or task.decided
	Task  EventTask `json:"task"`
}

// EventUser names a user in an event.
type EventUser struct {
	ID       string `json:"id"`
	Username string `json:"username"`
}

// EventTask is a task in an event.
type EventTask struct {
	ID          string     `json:"id"`
	Type        string     `json:"type"`
	Status      string     `json:"status"`
	Subject     string     `json:"subject"`
	TargetID    string     `json:"targetId"`
	RequestedBy EventUser  `json:"requestedBy"`
	CreatedAt   time.Time  `json:"createdAt"`
	DecidedBy   *EventUser `json:"decidedBy"`
	DecidedAt   *time.Time `json:"decidedAt"`
	Comment     *string    `json:"comment"`
}

// queue records a webhook post of an event in the caller's transaction, when a webhook is set.
func queue(ctx context.Context, idb bun.IDB, event string, t Task, now time.Time) error {
	w, err := apimgtdb.LoadWorkflowWebhook(ctx, idb)
	if err != nil {
		return err
	}
	if w.URL == nil {
		return nil
	}
	et := EventTask{
		ID: t.ID, Type: t.Type, Status: t.Status, Subject: t.Subject, TargetID: t.TargetID,
		RequestedBy: EventUser{ID: t.RequestedBy, Username: t.RequestedByName}, CreatedAt: t.CreatedAt,
		DecidedAt: t.DecidedAt, Comment: t.Comment,
	}
	if t.DecidedBy != nil {
		et.DecidedBy = &EventUser{ID: *t.DecidedBy}
		if t.DecidedByName != nil {
			et.DecidedBy.Username = *t.DecidedByName
		}
	}
	body, err := json.Marshal(Event{Event: event, Task: et})
	if err != nil {
		return err
	}
	now = now.UTC().Truncate(time.Microsecond)
	return apimgtdb.InsertWorkflowDelivery(ctx, idb, &apimgtdb.WorkflowDelivery{
		ID: uuid.Must(uuid.NewV7()).String(), Payload: string(body), NextAttemptAt: now, CreatedAt: now,
	})
}

// Sign returns the signature header's value for a body.
func Sign(secret, body []byte) string {
	m := hmac.New(sha256.New, secret)
	m.Write(body)
	return "sha256=" + hex.EncodeToString(m.Sum(nil))
}

// Notify wakes the deliverer (after a commit that may have queued a post).
func (s *Service) Notify() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// Run delivers queued webhook posts until ctx ends: woken by Notify, polling every poll as
// a fallback (and for posts queued by other control planes). A post that fails (no answer,
// or not 2xx) is logged and retried after RetryBase, then twice as long each time, up to
// MaxAttempts; then it is given up (logged as an error). Posts never block a request.
func (s *Service) Run(ctx context.Context, poll time.Duration) error {
	t := time.NewTicker(poll)
	defer t.Stop()
	for {
		s.deliverDue(ctx)
		select {
		case <-ctx.Done():
			return nil
		case <-s.wake:
		case <-t.C:
		}
	}
}

func (s *Service) deliverDue(ctx context.Context) {
	now := s.clock()
	due, err := apimgtdb.DueWorkflowDeliveries(ctx, s.db, now, 50)
	if err != nil {
		if ctx.Err() == nil {
			s.log.Warn("workflow webhook: cannot read queued posts", "err", err)
		}
		return
	}
	if len(due) == 0 {
		return
	}
	w, err := apimgtdb.LoadWorkflowWebhook(ctx, s.db)
	if err != nil {
		s.log.Warn("workflow webhook: cannot read the setting", "err", err)
		return
	}
	var secret []byte
	if w.SecretSealed != nil {
		sealed, err := base64.StdEncoding.DecodeString(*w.SecretSealed)
		if err == nil {
			secret, err = sealbox.Open(s.key, secretAAD, sealed)
		}
		if err != nil {
			s.log.Error("workflow webhook: the stored secret does not open under this encryption key; set it again", "err", err)
			return
		}
	}
	for i := range due {
		if ctx.Err() != nil {
			return
		}
		d := &due[i]
		if w.URL == nil { // the webhook was turned off after the post was queued
			_ = apimgtdb.DeleteWorkflowDelivery(ctx, s.db, d.ID)
			continue
		}
		backoff := s.retry << min(d.Attempts, 20)
		won, err := apimgtdb.ClaimWorkflowDelivery(ctx, s.db, d, now.Add(backoff))
		if err != nil || !won {
			continue
		}
		err = s.post(ctx, *w.URL, secret, []byte(d.Payload))
		if err == nil {
			if derr := apimgtdb.DeleteWorkflowDelivery(ctx, s.db, d.ID); derr != nil {
				s.log.Warn("workflow webhook: delivered post not removed (it may be posted again)", "delivery", d.ID, "err", derr)
			}
			continue
		}
		if d.Attempts+1 >= s.attempts {
			s.log.Error("workflow webhook: post given up", "delivery", d.ID, "url", *w.URL, "attempts", d.Attempts+1, "err", err)
			_ = apimgtdb.DeleteWorkflowDelivery(ctx, s.db, d.ID)
			continue
		}
		s.log.Warn("workflow webhook: post failed; will retry", "delivery", d.ID, "url", *w.URL, "attempt", d.Attempts+1, "retry_in", backoff, "err", err)
	}
}

func (s *Service) post(ctx context.Context, target string, secret, body []byte) error {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, target, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "Turnpike-Workflow-Webhook")
	if secret != nil {
		req.Header.Set(SignatureHeader, Sign(secret, body))
	}
	resp, err := s.client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return fmt.Errorf("answered %s", resp.Status)
	}
	return nil
}
