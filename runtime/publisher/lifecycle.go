package publisher

import (
	"strings"
)

// transitions is WSO2 API Manager's default lifecycle: the actions allowed in each state,
// in the order AllowedActions lists them, and where each leads.
var transitions = map[State][]struct {
	action Action
	to     State
}{
	Created:    {{Publish, Published}, {DeployAsPrototype, Prototyped}},
	Prototyped: {{Publish, Published}, {DemoteToCreated, Created}},
	Published:  {{Block, Blocked}, {Deprecate, Deprecated}, {DeployAsPrototype, Prototyped}, {DemoteToCreated, Created}},
	Blocked:    {{Republish, Published}, {Deprecate, Deprecated}},
	Deprecated: {{Retire, Retired}},
	Retired:    nil,
}

// AllowedActions lists the lifecycle actions allowed from a state.
func AllowedActions(s State) []Action {
	ts := transitions[s]
	out := make([]Action, 0, len(ts))
	for _, t := range ts {
		out = append(out, t.action)
	}
	return out
}

// Next returns the state an action leads to from s, and false when the action is not
// allowed from s.
func Next(s State, a Action) (State, bool) {
	for _, t := range transitions[s] {
		if t.action == a {
			return t.to, true
		}
	}
	return "", false
}

// Valid tells whether s is a lifecycle state.
func (s State) Valid() bool {
	_, ok := transitions[s]
	return ok
}

// Valid tells whether a is a lifecycle action.
func (a Action) Valid() bool {
	switch a {
	case Publish, DeployAsPrototype, DemoteToCreated, Block, Republish, Deprecate, Retire:
		return true
	}
	return false
}

// Deployed tells whether gateways serve an API in state s (BLOCKED APIs are deployed and
// answer every call with an error).
func (s State) Deployed() bool {
	switch s {
	case Published, Prototyped, Blocked, Deprecated:
		return true
	}
	return false
}

// Public tells whether every caller, subscribers and anonymous visitors included, sees an
// API in state s.
func (s State) Public() bool {
	return s == Published || s == Prototyped || s == Deprecated
}

// publicStates are the states every caller sees.
var publicStates = []string{string(Published), string(Prototyped), string(Deprecated)}

func joinActions(as []Action) string {
	if len(as) == 0 {
		return "none"
	}
	s := make([]string, len(as))
	for i, a := range as {
		s[i] = string(a)
	}
	return strings.Join(s, ", ")
}
