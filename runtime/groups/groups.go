// Package groups manages groups of users: admins create them, set their members and delete
// them. A group restricts who sees an API (its visibleToGroups) and which creators edit it
// (its editableByGroups); runtime/visibility has that rule. Groups live in apimgtdb, beside
// the APIs and applications they govern, so that a membership change and the control events
// that tell the gateways (each application of a user whose groups changed, with the owner's
// new groups) commit in one transaction.
package groups

import (
	"context"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/uptrace/bun"

	"github.com/turnpike/turnpike/db"
	"github.com/turnpike/turnpike/db/apimgtdb"
	"github.com/turnpike/turnpike/runtime/apperr"
	"github.com/turnpike/turnpike/runtime/contract"
	"github.com/turnpike/turnpike/runtime/controlplane"
	"github.com/turnpike/turnpike/runtime/identity"
	"github.com/turnpike/turnpike/runtime/outbox"
)

// Directory finds users by username (accounts.Service, through a small adapter): the user's
// id and username as stored; found is false for no such user.
type Directory interface {
	UserIDByUsername(ctx context.Context, username string) (id, name string, found bool, err error)
}

// Group is a group and its members.
type Group struct {
	Name        string
	Description string // "" for none
	Members     []Member
	CreatedAt   time.Time
}

// Member is a user in a group.
type Member struct {
	UserID   string
	Username string
}

// Service manages groups.
type Service struct {
	db    *bun.DB
	users Directory
	clock func() time.Time
}

// New returns the service over apimgtdb; users resolves the usernames given as members.
func New(apimgt *bun.DB, users Directory, clock func() time.Time) *Service {
	if clock == nil {
		clock = time.Now
	}
	return &Service{db: apimgt, users: users, clock: clock}
}

// MaxMembers bounds a group's members in one setGroupMembers.
const MaxMembers = 1000

var nameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$`)

func admin(a identity.Actor) error {
	switch {
	case !a.Authenticated():
		return apperr.Unauthenticatedf("sign in first")
	case !a.IsAdmin():
		return apperr.Forbiddenf("only admins manage groups")
	}
	return nil
}

func notFound(name string) error { return apperr.NotFoundf("no group %q", name) }

// Create adds a group without members. Its name is 1 to 64 letters, digits, '.', '_' or
// '-', starting with a letter or digit; a taken name is CONFLICT.
func (s *Service) Create(ctx context.Context, a identity.Actor, name string, description *string) (Group, error) {
	if err := admin(a); err != nil {
		return Group{}, err
	}
	name = strings.TrimSpace(name)
	if !nameRE.MatchString(name) {
		return Group{}, apperr.Invalidf("name", "a group name is 1 to 64 letters, digits, '.', '_' or '-', starting with a letter or digit")
	}
	row := &apimgtdb.Group{Name: name, CreatedAt: s.clock().UTC().Truncate(time.Microsecond)}
	if description != nil {
		d := strings.TrimSpace(*description)
		if len(d) > 1000 {
			return Group{}, apperr.Invalidf("description", "must be at most 1000 characters")
		}
		if d != "" {
			row.Description = &d
		}
	}
	if err := apimgtdb.InsertGroup(ctx, s.db, row); err != nil {
		if db.IsUniqueViolation(err) {
			return Group{}, apperr.Conflictf("a group named %q exists", name)
		}
		return Group{}, err
	}
	return toGroup(row, nil), nil
}

// List returns every group with its members; admins only.
func (s *Service) List(ctx context.Context, a identity.Actor) ([]Group, error) {
	if err := admin(a); err != nil {
		return nil, err
	}
	gs, err := apimgtdb.ListGroups(ctx, s.db)
	if err != nil {
		return nil, err
	}
	ms, err := apimgtdb.MembersOfGroups(ctx, s.db, nil)
	if err != nil {
		return nil, err
	}
	by := map[string][]apimgtdb.GroupMember{}
	for _, m := range ms {
		by[m.GroupName] = append(by[m.GroupName], m)
	}
	out := make([]Group, len(gs))
	for i := range gs {
		out[i] = toGroup(&gs[i], by[gs[i].Name])
	}
	return out, nil
}

// SetMembers replaces a group's members. Every username must be a user's: the unknown ones
// are BAD_USER_INPUT, naming each and pointing at the first (usernames[i]). The
// applications of every user who joined or left are announced again with their owner's
// groups, so that gateways apply the change to RESTRICTED APIs at once.
func (s *Service) SetMembers(ctx context.Context, a identity.Actor, name string, usernames []string) (Group, error) {
	if err := admin(a); err != nil {
		return Group{}, err
	}
	if len(usernames) > MaxMembers {
		return Group{}, apperr.Invalidf("usernames", "at most %d members", MaxMembers)
	}
	members := make([]apimgtdb.GroupMember, 0, len(usernames))
	var unknown []string
	firstUnknown := -1
	for i, u := range usernames {
		id, uname, found, err := s.users.UserIDByUsername(ctx, strings.TrimSpace(u))
		if err != nil {
			return Group{}, err
		}
		if !found {
			unknown = append(unknown, fmt.Sprintf("%q", u))
			if firstUnknown < 0 {
				firstUnknown = i
			}
			continue
		}
		if !slices.ContainsFunc(members, func(m apimgtdb.GroupMember) bool { return m.UserID == id }) {
			members = append(members, apimgtdb.GroupMember{GroupName: name, UserID: id, Username: uname})
		}
	}
	if len(unknown) > 0 {
		return Group{}, apperr.Invalidf(fmt.Sprintf("usernames[%d]", firstUnknown), "no such user: %s", strings.Join(unknown, ", "))
	}
	var out Group
	err := s.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		g, err := lockGroup(ctx, tx, name)
		if err != nil {
			return err
		}
		before, err := apimgtdb.MembersOfGroups(ctx, tx, []string{name})
		if err != nil {
			return err
		}
		if err := apimgtdb.ReplaceGroupMembers(ctx, tx, name, members); err != nil {
			return err
		}
		if err := announceOwners(ctx, tx, changedUsers(before, members)); err != nil {
			return err
		}
		slices.SortFunc(members, func(x, y apimgtdb.GroupMember) int { return strings.Compare(x.Username, y.Username) })
		out = toGroup(g, members)
		return nil
	})
	return out, err
}

// Delete removes a group. A group that an API names in its visibility or edit groups is
// CONFLICT, naming those APIs. The former members' applications are announced again.
func (s *Service) Delete(ctx context.Context, a identity.Actor, name string) (bool, error) {
	if err := admin(a); err != nil {
		return false, err
	}
	err := s.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		if _, err := lockGroup(ctx, tx, name); err != nil {
			return err
		}
		apis, err := apimgtdb.APIsUsingGroup(ctx, tx, name)
		if err != nil {
			return err
		}
		if len(apis) > 0 {
			names := make([]string, len(apis))
			for i, api := range apis {
				names[i] = api.Name + " " + api.Version
			}
			return apperr.Conflictf("the group %q is named in the visibility or edit groups of %s; change those APIs first", name, strings.Join(names, ", "))
		}
		before, err := apimgtdb.MembersOfGroups(ctx, tx, []string{name})
		if err != nil {
			return err
		}
		if _, err := apimgtdb.DeleteGroup(ctx, tx, name); err != nil {
			return err
		}
		return announceOwners(ctx, tx, changedUsers(before, nil))
	})
	return err == nil, err
}

// GroupsOf returns a user's groups, to the user themself and admins; anyone else gets
// FORBIDDEN (membership is an admin's business, and a user's own).
func (s *Service) GroupsOf(ctx context.Context, a identity.Actor, userID string) ([]string, error) {
	switch {
	case !a.Authenticated():
		return nil, apperr.Unauthenticatedf("sign in first")
	case a.UserID != userID && !a.IsAdmin():
		return nil, apperr.Forbiddenf("only the user and admins see a user's groups")
	}
	return s.GroupsOfUser(ctx, userID)
}

// GroupsOfUser returns a user's groups, sorted, with no check: the edge that resolves a
// request's caller uses it (websession).
func (s *Service) GroupsOfUser(ctx context.Context, userID string) ([]string, error) {
	m, err := apimgtdb.GroupsOfUsers(ctx, s.db, []string{userID})
	if err != nil {
		return nil, db.Unavailable(err)
	}
	if gs := m[userID]; gs != nil {
		return gs, nil
	}
	return []string{}, nil
}

func lockGroup(ctx context.Context, tx bun.IDB, name string) (*apimgtdb.Group, error) {
	g := new(apimgtdb.Group)
	q := tx.NewSelect().Model(g).Where("name = ?", name)
	if db.DialectOf(tx) == db.Postgres {
		q = q.For("UPDATE")
	}
	if err := q.Scan(ctx); err != nil {
		if db.IsNoRows(err) {
			return nil, notFound(name)
		}
		return nil, fmt.Errorf("lock group %s: %w", name, err)
	}
	return g, nil
}

// changedUsers are the users in exactly one of before and after.
func changedUsers(before, after []apimgtdb.GroupMember) []string {
	in := func(ms []apimgtdb.GroupMember, id string) bool {
		return slices.ContainsFunc(ms, func(m apimgtdb.GroupMember) bool { return m.UserID == id })
	}
	var out []string
	for _, m := range before {
		if !in(after, m.UserID) {
			out = append(out, m.UserID)
		}
	}
	for _, m := range after {
		if !in(before, m.UserID) {
			out = append(out, m.UserID)
		}
	}
	return out
}

// announceOwners appends, in tx, an application event for each application of users,
// carrying the owner's groups as tx now has them.
func announceOwners(ctx context.Context, tx bun.IDB, users []string) error {
	apps, err := apimgtdb.ApplicationsOfOwners(ctx, tx, users)
	if err != nil {
		return err
	}
	groups, err := apimgtdb.GroupsOfUsers(ctx, tx, users)
	if err != nil {
		return err
	}
	for i := range apps {
		ev := controlplane.Application(&apps[i], groups[apps[i].OwnerID])
		if _, err := outbox.Append(ctx, tx, contract.KindApplicationUpserted, ev); err != nil {
			return err
		}
	}
	return nil
}

func toGroup(g *apimgtdb.Group, ms []apimgtdb.GroupMember) Group {
	out := Group{Name: g.Name, CreatedAt: g.CreatedAt.UTC(), Members: make([]Member, len(ms))}
	if g.Description != nil {
		out.Description = *g.Description
	}
	for i, m := range ms {
		out.Members[i] = Member{UserID: m.UserID, Username: m.Username}
	}
	return out
}
