package throttlepolicy

import (
	"cmp"
	"slices"

	"github.com/turnpike/turnpike/runtime/contract"
)

// Set is a gateway state's compiled policies, indexed for the request path. It is immutable.
type Set struct {
	sub, app, adv map[string]*Compiled
	custom        []*Compiled // by name, for a stable order
	// bandwidth tells whether any policy limits bytes: without one, nothing is charged.
	bandwidth bool
}

// Empty is the Set without policies.
var Empty = NewSet(nil)

// NewSet indexes compiled policies by kind and name.
func NewSet(ps []*Compiled) *Set {
	s := &Set{sub: map[string]*Compiled{}, app: map[string]*Compiled{}, adv: map[string]*Compiled{}}
	for _, p := range ps {
		switch p.p.Kind {
		case contract.PolicySubscription:
			s.sub[p.p.Name] = p
		case contract.PolicyApplication:
			s.app[p.p.Name] = p
		case contract.PolicyAdvanced:
			s.adv[p.p.Name] = p
		case contract.PolicyCustom:
			s.custom = append(s.custom, p)
		default:
			continue
		}
		s.bandwidth = s.bandwidth || (p.quota != nil && p.quota.Bytes)
	}
	slices.SortFunc(s.custom, func(a, b *Compiled) int { return cmp.Compare(a.p.Name, b.p.Name) })
	return s
}

// Subscription returns the SUBSCRIPTION policy (tier) of that name, or nil.
func (s *Set) Subscription(name string) *Compiled { return lookup(s.sub, name) }

// Application returns the APPLICATION policy of that name, or nil.
func (s *Set) Application(name string) *Compiled { return lookup(s.app, name) }

// Advanced returns the ADVANCED policy of that name, or nil.
func (s *Set) Advanced(name string) *Compiled { return lookup(s.adv, name) }

// Custom returns the CUSTOM policies, by name.
func (s *Set) Custom() []*Compiled { return s.custom }

// Bandwidth tells whether any policy limits bytes.
func (s *Set) Bandwidth() bool { return s.bandwidth }

func lookup(m map[string]*Compiled, name string) *Compiled {
	if name == "" {
		return nil
	}
	return m[name]
}
