// Package cpclient is the runtimes' side of the control plane's internal endpoints: the
// heartbeat that registers a gateway or traffic manager with the control plane. It imports
// no database package, so gateways and traffic managers may use it. (The snapshot fetcher is
// gateway.NewHTTPSnapshotFetcher.)
package cpclient

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"time"
)

// Heartbeat is what a runtime reports to POST /internal/heartbeat.
type Heartbeat struct {
	ID       string `json:"id"`
	Kind     string `json:"kind"`              // GATEWAY, TRAFFIC_MANAGER or KEY_MANAGER
	Address  string `json:"address,omitempty"` // where it serves, for operators
	Revision int64  `json:"revision"`          // the control revision it has applied

	// A gateway also reports the gateway environments it belongs to (in its order) and which
	// revision of each API it enforces (API id → revision id), its acknowledgement of
	// deployments: the changes since its last report, or the whole set at its start and
	// when the control plane asks, and always the digest of the whole set
	// (contract.EnforcedDigest), which the control plane checks against the set it stored.
	Environments []string `json:"environments,omitempty"`
	// EnforcedChanges maps API ids to the revision id now enforced, "" for none any more.
	EnforcedChanges map[string]string `json:"enforcedChanges,omitempty"`
	// Enforced is the whole set when not nil (an empty set is {}, not absent).
	Enforced       map[string]string `json:"enforced"`
	EnforcedDigest string            `json:"enforcedDigest,omitempty"`
}

// HeartbeatReply is the control plane's answer to a heartbeat.
type HeartbeatReply struct {
	// Revision is the newest control revision on the bus.
	Revision int64 `json:"revision"`
	// SendEnforced asks the gateway for its whole enforced set: the set the control plane
	// holds for it has another digest than the one reported.
	SendEnforced bool `json:"sendEnforced,omitempty"`
}

// MaxHeartbeatBytes bounds a heartbeat's body: a whole enforced set of 100,000 APIs fits.
const MaxHeartbeatBytes = 16 << 20

// DefaultInterval is how often a HeartbeatClient reports.
const DefaultInterval = 5 * time.Second

// SendFunc delivers one heartbeat and returns the answer.
type SendFunc func(ctx context.Context, h Heartbeat) (HeartbeatReply, error)

// HeartbeatClient reports a runtime to the control plane every Interval, and at once when
// Wake signals.
type HeartbeatClient struct {
	send   SendFunc
	report func() Heartbeat
	log    *slog.Logger

	// Interval between reports (DefaultInterval).
	Interval time.Duration
	// Wake, when set, makes Run report at once when it receives (a gateway signals a change
	// of its enforced set). Signals that arrive while a report is sent make one more report.
	Wake <-chan struct{}
	// OnReply, when set, receives each answer (a gateway compares the published revision
	// with its own, and notes a request for its whole enforced set).
	OnReply func(HeartbeatReply)
	// OnFailure, when set, receives a heartbeat that did not reach the control plane (a
	// gateway reports its enforced changes again).
	OnFailure func(Heartbeat)
}

// NewHeartbeatClient reports to <baseURL>/internal/heartbeat with the internal token;
// report is called before each heartbeat for the current values (the revision changes).
func NewHeartbeatClient(baseURL, token string, report func() Heartbeat, log *slog.Logger) *HeartbeatClient {
	return NewDirectHeartbeatClient(HTTPSender(baseURL, token, nil), report, log)
}

// NewDirectHeartbeatClient reports through send (an in-process control plane).
func NewDirectHeartbeatClient(send SendFunc, report func() Heartbeat, log *slog.Logger) *HeartbeatClient {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &HeartbeatClient{send: send, report: report, log: log, Interval: DefaultInterval}
}

// HTTPSender posts heartbeats to <baseURL>/internal/heartbeat with the internal token. A nil
// client means one with a 5 s timeout.
func HTTPSender(baseURL, token string, client *http.Client) SendFunc {
	if client == nil {
		client = &http.Client{Timeout: 5 * time.Second}
	}
	url := strings.TrimRight(baseURL, "/") + "/internal/heartbeat"
	return func(ctx context.Context, h Heartbeat) (HeartbeatReply, error) {
		var reply HeartbeatReply
		body, err := json.Marshal(h)
		if err != nil {
			return reply, fmt.Errorf("heartbeat: %w", err)
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
		if err != nil {
			return reply, fmt.Errorf("heartbeat: %w", err)
		}
		req.Header.Set("Authorization", "Bearer "+token)
		req.Header.Set("Content-Type", "application/json")
		resp, err := client.Do(req)
		if err != nil {
			return reply, fmt.Errorf("heartbeat: %w", err)
		}
		defer resp.Body.Close()
		if resp.StatusCode != http.StatusNoContent && resp.StatusCode != http.StatusOK {
			msg, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
			return reply, fmt.Errorf("heartbeat: %s: %s", resp.Status, strings.TrimSpace(string(msg)))
		}
		if resp.StatusCode == http.StatusOK {
			if err := json.NewDecoder(io.LimitReader(resp.Body, 4096)).Decode(&reply); err != nil {
				return reply, fmt.Errorf("heartbeat: bad answer: %w", err)
			}
		}
		return reply, nil
	}
}

// Send reports once.
func (c *HeartbeatClient) Send(ctx context.Context) error {
	_, err := c.sendOnce(ctx)
	return err
}

// sendOnce reports once; again tells whether the answer asks for another report at once (the
// whole enforced set, which this report did not carry).
func (c *HeartbeatClient) sendOnce(ctx context.Context) (again bool, err error) {
	h := c.report()
	reply, err := c.send(ctx, h)
	if err != nil {
		if c.OnFailure != nil {
			c.OnFailure(h)
		}
		return false, err
	}
	if c.OnReply != nil {
		c.OnReply(reply)
	}
	return reply.SendEnforced && h.Enforced == nil, nil
}

// Run reports at once, then every Interval and whenever Wake signals, until ctx ends (it
// returns nil then). A failed report is logged once per outage and retried at the next tick.
func (c *HeartbeatClient) Run(ctx context.Context) error {
	interval := c.Interval
	if interval <= 0 {
		interval = DefaultInterval
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	failing := false
	for {
		again, err := c.sendOnce(ctx)
		switch {
		case err != nil && ctx.Err() == nil && !failing:
			c.log.Warn("control plane heartbeat failing", "err", err)
			failing = true
		case err == nil && failing:
			c.log.Info("control plane heartbeat restored")
			failing = false
		}
		if again {
			continue
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		case <-c.Wake:
		}
	}
}
