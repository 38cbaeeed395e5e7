package iam

import (
	"context"
	"slices"
	"strings"
	"time"

	"github.com/cloister/cloister/internal/awserr"
)

// CreateGroup creates a group.
func (s *Service) CreateGroup(ctx context.Context, account, name, path string) (*Group, error) {
	var v violations
	checkName(&v, name, "groupName", MaxGroupName)
	checkPath(&v, path, "path")
	if err := v.err(); err != nil {
		return nil, err
	}
	if path == "" {
		path = "/"
	}
	g := &Group{Account: account, Name: name, ID: newUniqueID("AGPA"), Path: path, CreateDate: s.now().UTC().Truncate(time.Second)}
	err := create(ctx, s, entityKey(account, kindGroup, name), g, func() error {
		return awserr.New(awserr.EntityAlreadyExists, "Group with name %s already exists.", name)
	})
	if err != nil {
		return nil, err
	}
	return g, nil
}

// GetGroup returns a group.
func (s *Service) GetGroup(ctx context.Context, account, name string) (*Group, error) {
	if err := checkEntityName(name, "groupName", MaxGroupName); err != nil {
		return nil, err
	}
	g, _, err := load[Group](ctx, s, entityKey(account, kindGroup, name), func() error { return noSuchGroup(name) })
	return g, err
}

// LookupGroup returns a group from the in-memory copy (nil if none).
func (s *Service) LookupGroup(account, name string) *Group { return s.idx.group(account, name) }

// ListGroups lists the groups of account whose path starts with prefix.
func (s *Service) ListGroups(account, prefix string) []*Group {
	return filterPath(s.idx.listGroups(account), prefix, func(g *Group) string { return g.Path })
}

// GroupMembers lists a group's users, by name.
func (s *Service) GroupMembers(account string, g *Group) []*User {
	var out []*User
	for _, u := range s.idx.listUsers(account) {
		if slices.Contains(u.Groups, g.ID) {
			out = append(out, u)
		}
	}
	return out
}

// DeleteGroup deletes a group without members or policies.
func (s *Service) DeleteGroup(ctx context.Context, account, name string) error {
	if err := checkEntityName(name, "groupName", MaxGroupName); err != nil {
		return err
	}
	key := entityKey(account, kindGroup, name)
	g, rev, err := load[Group](ctx, s, key, func() error { return noSuchGroup(name) })
	if err != nil {
		return err
	}
	switch {
	case len(s.GroupMembers(account, g)) > 0:
		return deleteConflict("remove users from group")
	case len(g.Inline) > 0:
		return deleteConflict("delete policies")
	case len(g.Attached) > 0:
		return deleteConflict("detach all policies")
	}
	return remove(ctx, s, key, rev)
}

// UpdateGroup renames a group or changes its path.
func (s *Service) UpdateGroup(ctx context.Context, account, name, newName, newPath string) error {
	var v violations
	checkName(&v, name, "groupName", MaxGroupName)
	if newName != "" {
		checkName(&v, newName, "newGroupName", MaxGroupName)
	}
	checkPath(&v, newPath, "newPath")
	if err := v.err(); err != nil {
		return err
	}
	if newName == "" || strings.EqualFold(newName, name) {
		_, err := mutateGroup(ctx, s, account, name, func(g *Group) error {
			if newName != "" {
				g.Name = newName
			}
			if newPath != "" {
				g.Path = newPath
			}
			return nil
		})
		return err
	}
	key := entityKey(account, kindGroup, name)
	g, rev, err := load[Group](ctx, s, key, func() error { return noSuchGroup(name) })
	if err != nil {
		return err
	}
	g.Name = newName
	if newPath != "" {
		g.Path = newPath
	}
	newKey := entityKey(account, kindGroup, newName)
	nrev, err := createRev(ctx, s, newKey, g, func() error {
		return awserr.New(awserr.EntityAlreadyExists, "Group with name %s already exists.", newName)
	})
	if err != nil {
		return err
	}
	if err := remove(ctx, s, key, rev); err != nil {
		_ = remove(context.WithoutCancel(ctx), s, newKey, nrev)
		return err
	}
	return nil
}
