package apimgtdb

import (
	"context"
	"fmt"
	"time"

	"github.com/uptrace/bun"
)

// Visibility values of apis.visibility and kinds of api_groups.
const (
	VisibilityPublic     = "PUBLIC"
	VisibilityRestricted = "RESTRICTED"
	GroupKindView        = "VIEW"
	GroupKindEdit        = "EDIT"
)

// Group is a row of user_groups.
type Group struct {
	bun.BaseModel `bun:"table:user_groups,alias:ug"`

	Name        string    `bun:"name,pk"`
	Description *string   `bun:"description"`
	CreatedAt   time.Time `bun:"created_at,notnull"`
}

// GroupMember is a row of group_members: a user (of userdb) in a group.
type GroupMember struct {
	bun.BaseModel `bun:"table:group_members,alias:gm"`

	GroupName string `bun:"group_name,pk"`
	UserID    string `bun:"user_id,pk"`
	Username  string `bun:"username,notnull"`
}

// APIGroup is a row of api_groups: a group an API is visible to (VIEW) or editable by (EDIT).
type APIGroup struct {
	bun.BaseModel `bun:"table:api_groups,alias:ag"`

	APIID     string `bun:"api_id,pk"`
	Kind      string `bun:"kind,pk"`
	GroupName string `bun:"group_name,pk"`
}

// InsertGroup adds a group; a taken name is a unique violation.
func InsertGroup(ctx context.Context, idb bun.IDB, g *Group) error {
	if _, err := idb.NewInsert().Model(g).Exec(ctx); err != nil {
		return fmt.Errorf("insert group %s: %w", g.Name, err)
	}
	return nil
}

// GroupByName loads a group; sql.ErrNoRows when missing.
func GroupByName(ctx context.Context, idb bun.IDB, name string) (*Group, error) {
	g := new(Group)
	if err := idb.NewSelect().Model(g).Where("name = ?", name).Scan(ctx); err != nil {
		return nil, fmt.Errorf("group %s: %w", name, err)
	}
	return g, nil
}

// ListGroups lists every group by name.
func ListGroups(ctx context.Context, idb bun.IDB) ([]Group, error) {
	var gs []Group
	if err := idb.NewSelect().Model(&gs).Order("name").Scan(ctx); err != nil {
		return nil, fmt.Errorf("list groups: %w", err)
	}
	return gs, nil
}

// ExistingGroups returns which of names are groups.
func ExistingGroups(ctx context.Context, idb bun.IDB, names []string) (map[string]bool, error) {
	out := make(map[string]bool, len(names))
	if len(names) == 0 {
		return out, nil
	}
	var found []string
	if err := idb.NewSelect().Model((*Group)(nil)).Column("name").Where("name IN (?)", bun.List(names)).Scan(ctx, &found); err != nil {
		return nil, fmt.Errorf("groups by name: %w", err)
	}
	for _, n := range found {
		out[n] = true
	}
	return out, nil
}

// MembersOfGroups lists the members of the named groups (of every group when names is
// nil), by group and username.
func MembersOfGroups(ctx context.Context, idb bun.IDB, names []string) ([]GroupMember, error) {
	var ms []GroupMember
	q := idb.NewSelect().Model(&ms)
	if names != nil {
		if len(names) == 0 {
			return ms, nil
		}
		q = q.Where("group_name IN (?)", bun.List(names))
	}
	if err := q.Order("group_name", "username").Scan(ctx); err != nil {
		return nil, fmt.Errorf("group members: %w", err)
	}
	return ms, nil
}

// ReplaceGroupMembers sets a group's members; run it in a transaction.
func ReplaceGroupMembers(ctx context.Context, tx bun.IDB, name string, ms []GroupMember) error {
	if _, err := tx.NewDelete().Model((*GroupMember)(nil)).Where("group_name = ?", name).Exec(ctx); err != nil {
		return fmt.Errorf("clear members of group %s: %w", name, err)
	}
	if len(ms) == 0 {
		return nil
	}
	if _, err := tx.NewInsert().Model(&ms).Exec(ctx); err != nil {
		return fmt.Errorf("insert members of group %s: %w", name, err)
	}
	return nil
}

// DeleteGroup removes a group and its members; it reports whether the group existed.
func DeleteGroup(ctx context.Context, tx bun.IDB, name string) (bool, error) {
	if _, err := tx.NewDelete().Model((*GroupMember)(nil)).Where("group_name = ?", name).Exec(ctx); err != nil {
		return false, fmt.Errorf("delete members of group %s: %w", name, err)
	}
	res, err := tx.NewDelete().Model((*Group)(nil)).Where("name = ?", name).Exec(ctx)
	if err != nil {
		return false, fmt.Errorf("delete group %s: %w", name, err)
	}
	n, _ := res.RowsAffected()
	return n > 0, nil
}

// GroupsOfUsers returns the groups of each of userIDs that belongs to one, names sorted.
func GroupsOfUsers(ctx context.Context, idb bun.IDB, userIDs []string) (map[string][]string, error) {
	out := make(map[string][]string, len(userIDs))
	if len(userIDs) == 0 {
		return out, nil
	}
	var ms []GroupMember
	err := idb.NewSelect().Model(&ms).Where("user_id IN (?)", bun.List(userIDs)).Order("user_id", "group_name").Scan(ctx)
	if err != nil {
		return nil, fmt.Errorf("groups of users: %w", err)
	}
	for _, m := range ms {
		out[m.UserID] = append(out[m.UserID], m.GroupName)
	}
	return out, nil
}

// AllGroupsOfUsers returns every user's groups (for the snapshot), names sorted.
func AllGroupsOfUsers(ctx context.Context, idb bun.IDB) (map[string][]string, error) {
	var ms []GroupMember
	if err := idb.NewSelect().Model(&ms).Order("user_id", "group_name").Scan(ctx); err != nil {
		return nil, fmt.Errorf("groups of every user: %w", err)
	}
	out := make(map[string][]string)
	for _, m := range ms {
		out[m.UserID] = append(out[m.UserID], m.GroupName)
	}
	return out, nil
}

// APIsUsingGroup lists the APIs naming a group in their visibility or edit groups, by
// name and version.
func APIsUsingGroup(ctx context.Context, idb bun.IDB, name string) ([]API, error) {
	var as []API
	err := idb.NewSelect().Model(&as).
		Where("EXISTS (SELECT 1 FROM api_groups AS g WHERE g.api_id = a.id AND g.group_name = ?)", name).
		Order("a.name", "a.version").Scan(ctx)
	if err != nil {
		return nil, fmt.Errorf("apis using group %s: %w", name, err)
	}
	return as, nil
}

// SetAPIGroups replaces the api_groups rows of an API: view for VIEW, edit for EDIT.
func SetAPIGroups(ctx context.Context, tx bun.IDB, apiID string, view, edit []string) error {
	if _, err := tx.NewDelete().Model((*APIGroup)(nil)).Where("api_id = ?", apiID).Exec(ctx); err != nil {
		return fmt.Errorf("clear groups of api %s: %w", apiID, err)
	}
	rows := make([]APIGroup, 0, len(view)+len(edit))
	for _, g := range view {
		rows = append(rows, APIGroup{APIID: apiID, Kind: GroupKindView, GroupName: g})
	}
	for _, g := range edit {
		rows = append(rows, APIGroup{APIID: apiID, Kind: GroupKindEdit, GroupName: g})
	}
	if len(rows) == 0 {
		return nil
	}
	if _, err := tx.NewInsert().Model(&rows).Exec(ctx); err != nil {
		return fmt.Errorf("insert groups of api %s: %w", apiID, err)
	}
	return nil
}

// ApplicationsOfOwners lists the applications of the given owners, by id.
func ApplicationsOfOwners(ctx context.Context, idb bun.IDB, ownerIDs []string) ([]Application, error) {
	var as []Application
	if len(ownerIDs) == 0 {
		return as, nil
	}
	if err := idb.NewSelect().Model(&as).Where("owner_id IN (?)", bun.List(ownerIDs)).Order("id").Scan(ctx); err != nil {
		return nil, fmt.Errorf("applications of owners: %w", err)
	}
	return as, nil
}
