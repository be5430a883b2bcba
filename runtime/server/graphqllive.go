package server

import (
	"context"
	"log/slog"
	"slices"
	"time"

	"github.com/99designs/gqlgen/graphql/handler/transport"

	"github.com/turnpike/turnpike/runtime/apperr"
	"github.com/turnpike/turnpike/runtime/identity"
)

// recheckLive returns the WebSocket init func that keeps a live connection honest: every
// interval it resolves the caller again from the credentials the connection was opened with,
// and closes the connection when the session or token no longer resolves to the same user
// with at least the roles it had (logout, password change, deletion, a role taken away).
// The client may reconnect; its subscriptions then pass the directives afresh. While the
// database does not answer, the connection stays open and the next interval asks again.
func recheckLive(recheck func(context.Context) (identity.Actor, error), every time.Duration, log *slog.Logger) transport.WebsocketInitFunc {
	return func(ctx context.Context, _ transport.InitPayload) (context.Context, *transport.InitPayload, error) {
		was := identity.From(ctx)
		if !was.Authenticated() || every <= 0 {
			return ctx, nil, nil
		}
		ctx, cancel := context.WithCancel(ctx)
		ctx = transport.AppendCloseReason(ctx, "the session ended or its roles changed: sign in and subscribe again")
		go func() {
			t := time.NewTicker(every)
			defer t.Stop()
			for {
				select {
				case <-ctx.Done():
					return
				case <-t.C:
				}
				now, err := recheck(ctx)
				if ctx.Err() != nil {
					return
				}
				if apperr.Is(err, apperr.Unavailable) {
					continue // the database does not answer: nothing is known to have changed; ask again next time
				}
				if err != nil || !stillHolds(was, now) {
					log.Info("closing a live GraphQL connection", "user", was.Username, "reason", "session ended or roles changed")
					cancel()
					return
				}
			}
		}()
		return ctx, nil, nil
	}
}

// stillHolds tells whether now is the same user as was, with every role was had.
func stillHolds(was, now identity.Actor) bool {
	if !now.Authenticated() || now.UserID != was.UserID {
		return false
	}
	for _, r := range was.Roles {
		if !slices.Contains(now.Roles, r) {
			return false
		}
	}
	return true
}
