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
}

// HeartbeatReply is the control plane's answer to a heartbeat.
type HeartbeatReply struct {
	// Revision is the newest control revision on the bus.
	Revision int64 `json:"revision"`
}

// DefaultInterval is how often a HeartbeatClient reports.
const DefaultInterval = 5 * time.Second

// HeartbeatClient reports a runtime to the control plane every Interval.
type HeartbeatClient struct {
	url    string
	token  string
	report func() Heartbeat
	client *http.Client
	log    *slog.Logger

	// Interval between reports (DefaultInterval).
	Interval time.Duration
	// OnReply, when set, receives each answer (a gateway compares the published revision
	// with its own).
	OnReply func(HeartbeatReply)
}

// NewHeartbeatClient reports to <baseURL>/internal/heartbeat with the internal token;
// report is called before each heartbeat for the current values (the revision changes).
func NewHeartbeatClient(baseURL, token string, report func() Heartbeat, log *slog.Logger) *HeartbeatClient {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &HeartbeatClient{
		url: strings.TrimRight(baseURL, "/") + "/internal/heartbeat", token: token, report: report,
		client: &http.Client{Timeout: 5 * time.Second}, log: log, Interval: DefaultInterval,
	}
}

// Send reports once.
func (c *HeartbeatClient) Send(ctx context.Context) error {
	body, err := json.Marshal(c.report())
	if err != nil {
		return fmt.Errorf("heartbeat: %w", err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.url, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("heartbeat: %w", err)
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.client.Do(req)
	if err != nil {
		return fmt.Errorf("heartbeat: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent && resp.StatusCode != http.StatusOK {
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		return fmt.Errorf("heartbeat: %s: %s", resp.Status, strings.TrimSpace(string(msg)))
	}
	if resp.StatusCode == http.StatusOK && c.OnReply != nil {
		var reply HeartbeatReply
		if err := json.NewDecoder(io.LimitReader(resp.Body, 4096)).Decode(&reply); err != nil {
			return fmt.Errorf("heartbeat: bad answer: %w", err)
		}
		c.OnReply(reply)
	}
	return nil
}

// Run reports at once and then every Interval until ctx ends (it returns nil then). A failed
// report is logged once per outage and retried at the next tick.
func (c *HeartbeatClient) Run(ctx context.Context) error {
	interval := c.Interval
	if interval <= 0 {
		interval = DefaultInterval
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	failing := false
	for {
		err := c.Send(ctx)
		switch {
		case err != nil && ctx.Err() == nil && !failing:
			c.log.Warn("control plane heartbeat failing", "err", err)
			failing = true
		case err == nil && failing:
			c.log.Info("control plane heartbeat restored")
			failing = false
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}
