package iam

import (
	"cmp"
	"encoding/json"
	"log/slog"
	"slices"
	"strings"
	"sync"

	"github.com/cloister/cloister/internal/store"
)

// index is the in-memory copy of every IAM entity and organization record,
// kept current by watching the entities bucket and by applying this
// process's own writes as soon as they succeed. The values it holds are
// never modified after they are stored, so readers may keep them after
// releasing the lock.
//
// Every change to an account's entities bumps the account's generation;
// every change to the organization's guardrails bumps orgGen. The
// authorization caches compare generations to know when to rebuild.
type index struct {
	log *slog.Logger

	mu sync.RWMutex
	// revs is the last revision applied per key, deletions included, so
	// that a late watch update cannot undo a newer state.
	revs       map[string]uint64
	users      map[string]*User
	groups     map[string]*Group
	roles      map[string]*Role
	policies   map[string]*ManagedPolicy
	orgPols    map[string]*OrgPolicy
	orgTargets map[string]*orgTarget // by account ID
	statuses   map[string]*CreateAccountStatus
	ids        map[string]string // unique ID -> key
	gens       map[string]uint64 // account -> generation
	orgGen     uint64
}

func newIndex(log *slog.Logger) *index {
	return &index{
		log: log, revs: map[string]uint64{}, users: map[string]*User{}, groups: map[string]*Group{},
		roles: map[string]*Role{}, policies: map[string]*ManagedPolicy{}, orgPols: map[string]*OrgPolicy{},
		orgTargets: map[string]*orgTarget{}, statuses: map[string]*CreateAccountStatus{},
		ids: map[string]string{}, gens: map[string]uint64{},
	}
}

// apply records the state of one key at a revision: a value, or nil for a
// deletion.
func (x *index) apply(e store.Entry) {
	account, kind, ok := splitKey(e.Key)
	if !ok {
		return
	}
	x.mu.Lock()
	defer x.mu.Unlock()
	if rev, ok := x.revs[e.Key]; ok && rev >= e.Revision {
		return
	}
	x.revs[e.Key] = e.Revision
	if account == orgPrefix {
		x.orgGen++
		x.applyOrg(e, kind)
		return
	}
	x.gens[account]++
	var id string
	switch kind {
	case kindUser:
		id = applyEntity(x, x.users, e, func(u *User) string { return u.ID })
	case kindGroup:
		id = applyEntity(x, x.groups, e, func(g *Group) string { return g.ID })
	case kindRole:
		id = applyEntity(x, x.roles, e, func(r *Role) string { return r.ID })
	case kindPolicy:
		id = applyEntity(x, x.policies, e, func(p *ManagedPolicy) string { return p.ID })
	}
	if id != "" && e.Value != nil {
		x.ids[id] = e.Key
	}
}

// applyEntity replaces or removes m[e.Key], returning the new value's
// unique ID. A removed entity's ID is forgotten.
func applyEntity[T any](x *index, m map[string]*T, e store.Entry, id func(*T) string) string {
	if old, ok := m[e.Key]; ok && x.ids[id(old)] == e.Key {
		delete(x.ids, id(old))
	}
	if e.Value == nil {
		delete(m, e.Key)
		return ""
	}
	v := new(T)
	if err := json.Unmarshal(e.Value, v); err != nil {
		x.log.Error("decode iam record", "key", e.Key, "err", err)
		delete(m, e.Key)
		return ""
	}
	m[e.Key] = v
	return id(v)
}

func (x *index) applyOrg(e store.Entry, kind string) {
	_, name, _ := strings.Cut(e.Key[len(orgPrefix)+1:], ".")
	switch kind {
	case "policy":
		applyEntity(x, x.orgPols, e, func(*OrgPolicy) string { return "" })
	case "target":
		if e.Value == nil {
			delete(x.orgTargets, name)
			return
		}
		var t orgTarget
		if err := json.Unmarshal(e.Value, &t); err != nil {
			x.log.Error("decode organization record", "key", e.Key, "err", err)
			delete(x.orgTargets, name)
			return
		}
		x.orgTargets[name] = &t
	case "status":
		applyEntity(x, x.statuses, e, func(*CreateAccountStatus) string { return "" })
	}
}

// gen returns the account's generation and the organization's.
func (x *index) gen(account string) (uint64, uint64) {
	x.mu.RLock()
	defer x.mu.RUnlock()
	return x.gens[account], x.orgGen
}

func (x *index) user(account, name string) *User {
	x.mu.RLock()
	defer x.mu.RUnlock()
	return x.users[entityKey(account, kindUser, name)]
}

func (x *index) group(account, name string) *Group {
	x.mu.RLock()
	defer x.mu.RUnlock()
	return x.groups[entityKey(account, kindGroup, name)]
}

func (x *index) role(account, name string) *Role {
	x.mu.RLock()
	defer x.mu.RUnlock()
	return x.roles[entityKey(account, kindRole, name)]
}

func (x *index) policy(account, name string) *ManagedPolicy {
	x.mu.RLock()
	defer x.mu.RUnlock()
	return x.policies[entityKey(account, kindPolicy, name)]
}

// userByID returns the user with this unique ID in account, or nil.
func (x *index) userByID(account, id string) *User {
	x.mu.RLock()
	defer x.mu.RUnlock()
	u := x.users[x.ids[id]]
	if u == nil || u.Account != account {
		return nil
	}
	return u
}

func (x *index) roleByID(account, id string) *Role {
	x.mu.RLock()
	defer x.mu.RUnlock()
	r := x.roles[x.ids[id]]
	if r == nil || r.Account != account {
		return nil
	}
	return r
}

func (x *index) groupByID(account, id string) *Group {
	x.mu.RLock()
	defer x.mu.RUnlock()
	g := x.groups[x.ids[id]]
	if g == nil || g.Account != account {
		return nil
	}
	return g
}

// list returns the values of m whose key belongs to account, sorted by
// key (IAM lists entities in name order).
func list[T any](x *index, m map[string]*T, account string) []*T {
	prefix := account + "."
	x.mu.RLock()
	type kv struct {
		k string
		v *T
	}
	var out []kv
	for k, v := range m {
		if strings.HasPrefix(k, prefix) {
			out = append(out, kv{k, v})
		}
	}
	x.mu.RUnlock()
	slices.SortFunc(out, func(a, b kv) int { return cmp.Compare(a.k, b.k) })
	vals := make([]*T, len(out))
	for i, e := range out {
		vals[i] = e.v
	}
	return vals
}

func (x *index) listUsers(account string) []*User   { return list(x, x.users, account) }
func (x *index) listGroups(account string) []*Group { return list(x, x.groups, account) }
func (x *index) listRoles(account string) []*Role   { return list(x, x.roles, account) }
func (x *index) listPolicies(account string) []*ManagedPolicy {
	return list(x, x.policies, account)
}
