package regdb

import (
	"context"
	"fmt"
	"time"

	"github.com/uptrace/bun"

	"github.com/turnpike/turnpike/db"
)

// Rating is a row of api_ratings: one user's rating (1 to 5) of an API.
type Rating struct {
	bun.BaseModel `bun:"table:api_ratings"`

	APIID     string    `bun:"api_id,pk"`
	UserID    string    `bun:"user_id,pk"`
	Rating    int       `bun:"rating,notnull"`
	CreatedAt time.Time `bun:"created_at,notnull"`
	UpdatedAt time.Time `bun:"updated_at,notnull"`
}

// RatingSummary aggregates an API's ratings.
type RatingSummary struct {
	APIID   string  `bun:"api_id"`
	Count   int     `bun:"count"`
	Average float64 `bun:"average"`
}

// UpsertRating records a user's rating of an API, replacing an earlier one.
func UpsertRating(ctx context.Context, idb bun.IDB, r *Rating) error {
	_, err := idb.NewInsert().Model(r).On("CONFLICT (api_id, user_id) DO UPDATE").
		Set("rating = EXCLUDED.rating").Set("updated_at = EXCLUDED.updated_at").Exec(ctx)
	if err != nil {
		return fmt.Errorf("upsert rating: %w", err)
	}
	return nil
}

// RatingSummaries aggregates the ratings of APIs; an API without ratings is absent.
func RatingSummaries(ctx context.Context, idb bun.IDB, apiIDs []string) (map[string]RatingSummary, error) {
	out := make(map[string]RatingSummary, len(apiIDs))
	if len(apiIDs) == 0 {
		return out, nil
	}
	var rs []RatingSummary
	err := idb.NewSelect().Model((*Rating)(nil)).
		ColumnExpr("api_id").ColumnExpr("COUNT(*) AS count").ColumnExpr("AVG(CAST(rating AS DOUBLE PRECISION)) AS average").
		Where("api_id IN (?)", bun.List(apiIDs)).Group("api_id").Scan(ctx, &rs)
	if err != nil {
		return nil, fmt.Errorf("rating summaries: %w", err)
	}
	for _, r := range rs {
		out[r.APIID] = r
	}
	return out, nil
}

// UserRatings returns a user's ratings of APIs, by API id.
func UserRatings(ctx context.Context, idb bun.IDB, userID string, apiIDs []string) (map[string]int, error) {
	out := make(map[string]int, len(apiIDs))
	if len(apiIDs) == 0 || userID == "" {
		return out, nil
	}
	var rs []Rating
	err := idb.NewSelect().Model(&rs).Where("user_id = ?", userID).Where("api_id IN (?)", bun.List(apiIDs)).Scan(ctx)
	if err != nil {
		return nil, fmt.Errorf("user ratings: %w", err)
	}
	for _, r := range rs {
		out[r.APIID] = r.Rating
	}
	return out, nil
}

// Comment is a row of api_comments.
type Comment struct {
	bun.BaseModel `bun:"table:api_comments"`

	ID        string    `bun:"id,pk"`
	APIID     string    `bun:"api_id,notnull"`
	UserID    string    `bun:"user_id,notnull"`
	Author    string    `bun:"author,notnull"` // username at posting
	Text      string    `bun:"text,notnull"`
	CreatedAt time.Time `bun:"created_at,notnull"`
}

// InsertComment adds a comment.
func InsertComment(ctx context.Context, idb bun.IDB, c *Comment) error {
	if _, err := idb.NewInsert().Model(c).Exec(ctx); err != nil {
		return fmt.Errorf("insert comment: %w", err)
	}
	return nil
}

// CommentByID loads a comment; sql.ErrNoRows when missing.
func CommentByID(ctx context.Context, idb bun.IDB, id string) (*Comment, error) {
	return db.ByID[Comment](ctx, idb, id, "comment "+id)
}

// CommentsOfAPI lists an API's comments, oldest first, at most limit of the newest.
func CommentsOfAPI(ctx context.Context, idb bun.IDB, apiID string, limit int) ([]Comment, error) {
	var cs []Comment
	err := idb.NewSelect().Model(&cs).Where("api_id = ?", apiID).
		Order("created_at DESC", "id DESC").Limit(int64(limit)).Scan(ctx)
	if err != nil {
		return nil, fmt.Errorf("comments of api %s: %w", apiID, err)
	}
	for i, j := 0, len(cs)-1; i < j; i, j = i+1, j-1 {
		cs[i], cs[j] = cs[j], cs[i]
	}
	return cs, nil
}

// DeleteComment removes a comment; sql.ErrNoRows when missing.
func DeleteComment(ctx context.Context, idb bun.IDB, id string) error {
	res, err := idb.NewDelete().Model((*Comment)(nil)).Where("id = ?", id).Exec(ctx)
	if err != nil {
		return fmt.Errorf("delete comment %s: %w", id, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return fmt.Errorf("delete comment %s: %w", id, err)
	}
	if n == 0 {
		return fmt.Errorf("delete comment %s: %w", id, db.ErrNoRows)
	}
	return nil
}

// DeleteFeedbackOfAPI removes an API's ratings and comments (when the API is deleted).
func DeleteFeedbackOfAPI(ctx context.Context, idb bun.IDB, apiID string) error {
	if _, err := idb.NewDelete().Model((*Rating)(nil)).Where("api_id = ?", apiID).Exec(ctx); err != nil {
		return fmt.Errorf("delete ratings of api %s: %w", apiID, err)
	}
	if _, err := idb.NewDelete().Model((*Comment)(nil)).Where("api_id = ?", apiID).Exec(ctx); err != nil {
		return fmt.Errorf("delete comments of api %s: %w", apiID, err)
	}
	return nil
}
