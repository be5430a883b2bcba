// Package visibility is the one rule of who sees an API and who edits it, shared by every
// read path (the Publisher's catalog, search and api(id); the Developer Portal's
// subscriptions, ratings and comments; documents) so that a RESTRICTED API is hidden the
// same way everywhere: an outsider gets what a missing API gets (NOT_FOUND, or no row).
//
// Who sees an API:
//   - admins and publishers: every API;
//   - anyone else: an API in a public lifecycle state (PUBLISHED, PROTOTYPED, DEPRECATED), and
//     every API they provide;
//   - and, when the API is RESTRICTED, only if they provide it, belong to one of its
//     visibleToGroups, or are a CREATOR in one of its editableByGroups (who may edit it).
//
// Who edits an API: admins and publishers; its provider while a CREATOR; when
// editableByGroups is not empty, the CREATORs in those groups, and the provider only while a
// member of one of them too.
package visibility

import (
	"encoding/json"
	"slices"

	"github.com/turnpike/turnpike/db/apimgtdb"
	"github.com/turnpike/turnpike/runtime/contract"
	"github.com/turnpike/turnpike/runtime/identity"
)

// PublicStates are the lifecycle states every caller sees (visibility aside).
var PublicStates = []string{contract.StatePublished, contract.StatePrototyped, contract.StateDeprecated}

// SeesAll tells whether the actor sees and edits every API: admins and publishers.
func SeesAll(a identity.Actor) bool { return a.Has(identity.Admin, identity.Publisher) }

// Groups decodes an API row's visibility groups and edit groups.
func Groups(row *apimgtdb.API) (view, edit []string) {
	return decode(row.VisibleToGroups), decode(row.EditableByGroups)
}

func decode(s string) []string {
	var out []string
	if s != "" && s != "[]" {
		_ = json.Unmarshal([]byte(s), &out) // written only by the Publisher, as a JSON array
	}
	if out == nil {
		out = []string{}
	}
	return out
}

// Restricted tells whether the row is RESTRICTED.
func Restricted(row *apimgtdb.API) bool { return row.Visibility == apimgtdb.VisibilityRestricted }

// Sees tells whether the actor may see the API at all.
func Sees(a identity.Actor, row *apimgtdb.API) bool {
	if SeesAll(a) {
		return true
	}
	provider := a.Authenticated() && row.ProviderID == a.UserID
	if !provider && !slices.Contains(PublicStates, row.LifecycleState) {
		return false
	}
	if !Restricted(row) || provider {
		return true
	}
	view, edit := Groups(row)
	return a.Authenticated() && (a.InAny(view) || a.Has(identity.Creator) && a.InAny(edit))
}

// MayEdit tells whether the actor may edit an API provided by providerID whose edit groups
// are editGroups.
func MayEdit(a identity.Actor, providerID string, editGroups []string) bool {
	switch {
	case SeesAll(a):
		return true
	case !a.Authenticated() || !a.Has(identity.Creator):
		return false
	case len(editGroups) == 0:
		return providerID == a.UserID
	}
	return a.InAny(editGroups)
}

// MayEditRow is MayEdit for a row.
func MayEditRow(a identity.Actor, row *apimgtdb.API) bool {
	_, edit := Groups(row)
	return MayEdit(a, row.ProviderID, edit)
}

// Viewer is the catalog filter's form of the rule's restricted part for the actor: nil for
// those who see every API.
func Viewer(a identity.Actor) *apimgtdb.Viewer {
	if SeesAll(a) {
		return nil
	}
	v := &apimgtdb.Viewer{UserID: a.UserID}
	if a.Authenticated() {
		v.Groups, v.Kinds = a.Groups, []string{apimgtdb.GroupKindView}
		if a.Has(identity.Creator) {
			v.Kinds = append(v.Kinds, apimgtdb.GroupKindEdit)
		}
	}
	return v
}
