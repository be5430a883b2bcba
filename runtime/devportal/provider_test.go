package devportal_test

import (
	"context"
	"testing"

	"github.com/turnpike/turnpike/runtime/apperr"
	"github.com/turnpike/turnpike/runtime/contract"
	"github.com/turnpike/turnpike/runtime/identity"
)

// TestDemotedProviderManagesNothing checks that an API's provider who lost the CREATOR role
// (and so no longer edits the API in the Publisher) no longer blocks its subscriptions,
// lists other consumers' subscriptions and applications, or deletes others' comments.
func TestDemotedProviderManagesNothing(t *testing.T) {
	t.Parallel()
	each(t, nil, func(t *testing.T, f *fixture) {
		ctx := context.Background()
		creator := actor("cora", identity.Creator)
		demoted := actor("cora") // same user, now only a subscriber
		sam := actor("sam")
		api := f.api(creator, contract.StatePublished)
		app := f.app(sam, "App")
		s, err := f.dp.Subscribe(ctx, sam, api.ID, app.ID, "Gold")
		if err != nil {
			t.Fatal(err)
		}
		c, err := f.dp.AddComment(ctx, sam, api.ID, "nice")
		if err != nil {
			t.Fatal(err)
		}
		tests := []struct {
			desc string
			do   func(t *testing.T) error
			want apperr.Code
		}{
			{desc: "block a subscription", want: apperr.NotFound, do: func(t *testing.T) error {
				_, err := f.dp.BlockSubscription(ctx, demoted, s.ID, false)
				return err
			}},
			{desc: "list the API's subscriptions", do: func(t *testing.T) error {
				subs, err := f.dp.APISubscriptions(ctx, demoted, api.ID)
				if err == nil && len(subs) != 0 {
					t.Errorf("sees %d subscriptions, want 0", len(subs))
				}
				return err
			}},
			{desc: "see a subscriber's application", want: apperr.NotFound, do: func(t *testing.T) error {
				_, err := f.dp.ApplicationOfSubscription(ctx, demoted, app.ID, api.ID)
				return err
			}},
			{desc: "delete another user's comment", want: apperr.Forbidden, do: func(t *testing.T) error {
				return f.dp.DeleteComment(ctx, demoted, c.ID)
			}},
		}
		for _, tt := range tests {
			t.Run(tt.desc, func(t *testing.T) {
				rev := f.revision()
				if err := tt.do(t); code(err) != tt.want {
					t.Errorf("got %v, want %q", err, tt.want)
				}
				if f.revision() != rev {
					t.Error("events appended")
				}
			})
		}
		if _, err := f.dp.BlockSubscription(ctx, creator, s.ID, false); err != nil {
			t.Errorf("the provider with the CREATOR role blocks: %v", err)
		}
	})
}
