package devportal

import (
	"context"
	"strings"
	"time"
	"unicode"

	"github.com/google/uuid"

	"github.com/turnpike/turnpike/db"
	"github.com/turnpike/turnpike/db/regdb"
	"github.com/turnpike/turnpike/runtime/apperr"
	"github.com/turnpike/turnpike/runtime/identity"
)

// Rating is an API's rating: the average of its users' ratings (nil when there are none),
// their number, and the actor's own rating (nil when they gave none).
type Rating struct {
	Average *float64
	Count   int
	Mine    *int
}

// Comment is a comment on an API.
type Comment struct {
	ID        string
	APIID     string
	AuthorID  string
	Author    string // username
	Text      string
	CreatedAt time.Time
}

func toComment(c *regdb.Comment) Comment {
	return Comment{ID: c.ID, APIID: c.APIID, AuthorID: c.UserID, Author: c.Author, Text: c.Text, CreatedAt: c.CreatedAt.UTC()}
}

// RateAPI records the actor's rating (1 to 5) of an API they may see, replacing an earlier one.
func (s *Service) RateAPI(ctx context.Context, actor identity.Actor, apiID string, rating int) (Rating, error) {
	if err := authenticated(actor); err != nil {
		return Rating{}, err
	}
	if rating < 1 || rating > 5 {
		return Rating{}, apperr.Invalidf("rating", "must be from 1 to 5, not %d", rating)
	}
	api, err := visibleAPI(ctx, s.apimgt, actor, apiID)
	if err != nil {
		return Rating{}, err
	}
	now := s.clock()
	r := &regdb.Rating{APIID: api.ID, UserID: actor.UserID, Rating: rating, CreatedAt: now, UpdatedAt: now}
	if err := regdb.UpsertRating(ctx, s.reg, r); err != nil {
		return Rating{}, err
	}
	rs, err := s.Ratings(ctx, actor, []string{api.ID})
	if err != nil {
		return Rating{}, err
	}
	return rs[api.ID], nil
}

// Ratings returns the ratings of APIs (which the caller already may see), by API id; every
// id is in the result. It batches for dataloaders.
func (s *Service) Ratings(ctx context.Context, actor identity.Actor, apiIDs []string) (map[string]Rating, error) {
	sums, err := regdb.RatingSummaries(ctx, s.reg, apiIDs)
	if err != nil {
		return nil, err
	}
	mine, err := regdb.UserRatings(ctx, s.reg, actor.UserID, apiIDs)
	if err != nil {
		return nil, err
	}
	out := make(map[string]Rating, len(apiIDs))
	for _, id := range apiIDs {
		var r Rating
		if sum, ok := sums[id]; ok && sum.Count > 0 {
			avg := float64(int(sum.Average*100+0.5)) / 100 // two decimals
			r.Average, r.Count = &avg, sum.Count
		}
		if m, ok := mine[id]; ok {
			r.Mine = &m
		}
		out[id] = r
	}
	return out, nil
}

// AddComment adds the actor's comment to an API they may see.
func (s *Service) AddComment(ctx context.Context, actor identity.Actor, apiID, text string) (Comment, error) {
	if err := authenticated(actor); err != nil {
		return Comment{}, err
	}
	text, err := validText("text", text, MaxCommentLength, true)
	if err != nil {
		return Comment{}, err
	}
	if strings.IndexFunc(text, func(r rune) bool { return unicode.IsControl(r) && r != '\n' && r != '\t' && r != '\r' }) >= 0 {
		return Comment{}, apperr.Invalidf("text", "must not contain control characters")
	}
	api, err := visibleAPI(ctx, s.apimgt, actor, apiID)
	if err != nil {
		return Comment{}, err
	}
	c := &regdb.Comment{ID: uuid.NewString(), APIID: api.ID, UserID: actor.UserID, Author: actor.Username, Text: text, CreatedAt: s.clock()}
	if err := regdb.InsertComment(ctx, s.reg, c); err != nil {
		return Comment{}, err
	}
	return toComment(c), nil
}

// Comments lists the comments on an API the actor may see, oldest first (the newest
// MaxComments).
func (s *Service) Comments(ctx context.Context, actor identity.Actor, apiID string) ([]Comment, error) {
	api, err := visibleAPI(ctx, s.apimgt, actor, apiID)
	if err != nil {
		return nil, err
	}
	cs, err := regdb.CommentsOfAPI(ctx, s.reg, api.ID, MaxComments)
	if err != nil {
		return nil, err
	}
	out := make([]Comment, len(cs))
	for i := range cs {
		out[i] = toComment(&cs[i])
	}
	return out, nil
}

// DeleteComment deletes a comment: its author, admins, publishers and the API's provider
// may (moderation); others who see the API get FORBIDDEN; the rest NOT_FOUND.
func (s *Service) DeleteComment(ctx context.Context, actor identity.Actor, id string) error {
	if err := authenticated(actor); err != nil {
		return err
	}
	c, err := regdb.CommentByID(ctx, s.reg, id)
	if db.IsNoRows(err) {
		return apperr.NotFoundf("no comment %q", id)
	}
	if err != nil {
		return err
	}
	api, err := visibleAPI(ctx, s.apimgt, actor, c.APIID)
	switch {
	case apperr.Is(err, apperr.NotFound):
		if c.UserID != actor.UserID {
			return apperr.NotFoundf("no comment %q", id)
		}
	case err != nil:
		return err
	case c.UserID != actor.UserID && !managesSubscriptions(actor, api):
		return apperr.Forbiddenf("only the author, admins, publishers and the API's provider delete a comment")
	}
	err = regdb.DeleteComment(ctx, s.reg, id)
	if db.IsNoRows(err) {
		return apperr.NotFoundf("no comment %q", id)
	}
	return err
}
