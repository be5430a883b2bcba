package gateway_test

import (
	"context"
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/turnpike/turnpike/internal/wait"
	"github.com/turnpike/turnpike/runtime/bus"
	"github.com/turnpike/turnpike/runtime/contract"
)

// TestInternalSurfaceIsClosed attacks a real deployment from outside: the internal
// endpoints are not on the public listener, metrics and readiness detail need the internal
// token, and a control event injected on the broker without it is dropped and counted.
func TestInternalSurfaceIsClosed(t *testing.T) {
	bc := busCases()[0]
	env := bc.env(t)
	d := start(t, env)
	gw := d.gwURLs[0]
	tests := []struct {
		desc, url, token string
		status           int
		lacks            string
	}{
		{desc: "public snapshot with the token", url: d.cpURL + "/internal/snapshot", token: internalToken, status: 404, lacks: `"revision"`},
		{desc: "public heartbeat", url: d.cpURL + "/internal/heartbeat", token: internalToken, status: 404},
		{desc: "internal snapshot without token", url: d.cpInternal + "/internal/snapshot", status: 401, lacks: `"revision"`},
		{desc: "internal snapshot with a wrong token", url: d.cpInternal + "/internal/snapshot", token: "change-this-internal-token", status: 401},
		{desc: "internal snapshot with the token", url: d.cpInternal + "/internal/snapshot", token: internalToken, status: 200},
		{desc: "control plane metrics without token", url: d.cpURL + "/metrics", status: 401, lacks: "go_goroutines"},
		{desc: "gateway metrics without token", url: gw + "/metrics", status: 401, lacks: "go_goroutines"},
		{desc: "gateway metrics with the token", url: gw + "/metrics", token: internalToken, status: 200},
		{desc: "control plane readyz", url: d.cpURL + "/readyz", status: 200, lacks: "databases"},
		{desc: "gateway readyz", url: gw + "/readyz", status: 200, lacks: "checks"},
		{desc: "verbose readyz without token", url: d.cpURL + "/readyz?verbose", status: 401, lacks: "databases"},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			code, body := call(t, tc.url, tc.token)
			if code != tc.status {
				t.Fatalf("GET %s: %d, want %d: %.200s", tc.url, code, tc.status, body)
			}
			if tc.lacks != "" && strings.Contains(body, tc.lacks) {
				t.Fatalf("GET %s shows %q: %.200s", tc.url, tc.lacks, body)
			}
		})
	}

	t.Run("forged control event", func(t *testing.T) {
		intruder, err := bus.Open(context.Background(), bus.Spec{
			Backend: env["TURNPIKE_BUS"], Namespace: d.commonEV["TURNPIKE_BUS_NAMESPACE"],
			SigningKey: bus.KeyFromToken("change-this-internal-token"),
		})
		if err != nil {
			t.Fatal(err)
		}
		defer intruder.Close()
		ev, err := contract.NewControlEvent(contract.KindAPIDeployments, contract.APIDeployments{APIID: "any"})
		if err != nil {
			t.Fatal(err)
		}
		ev.Revision = 1 << 40
		if err := bus.PublishControl(intruder.Publisher(), ev); err != nil {
			t.Fatal(err)
		}
		counted := regexp.MustCompile(`turnpike_bus_rejected_messages_total\{reason="bad_signature",topic="turnpike.control"\} 1\b`)
		for _, u := range d.gwURLs {
			wait.NoError(t, 10*time.Second, func() error {
				_, body := call(t, u+"/metrics", internalToken)
				if !counted.MatchString(body) {
					return fmt.Errorf("%s has not counted the forged event", u)
				}
				return nil
			})
			// The gateway did not jump to the forged revision (which would leave it waiting
			// for a gap that never fills): it still serves and is ready.
			waitStatus(t, u+"/readyz", "", http.StatusOK)
		}
	})
}
