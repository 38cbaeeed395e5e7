package iam

import (
	"context"
	"slices"
	"strings"
	"time"

	"github.com/cloister/cloister/internal/awserr"
)

// CreateUserInput is CreateUser's parameters.
type CreateUserInput struct {
	Name     string
	Path     string // "" means "/"
	Boundary string // permissions boundary policy ARN, optional
	Tags     []Tag
}

// CreateUser creates an IAM user in account.
func (s *Service) CreateUser(ctx context.Context, account string, in CreateUserInput) (*User, error) {
	var v violations
	checkName(&v, in.Name, "userName", MaxUserName)
	checkPath(&v, in.Path, "path")
	if err := v.err(); err != nil {
		return nil, err
	}
	if err := checkTags(in.Tags); err != nil {
		return nil, err
	}
	if in.Path == "" {
		in.Path = "/"
	}
	if in.Boundary != "" {
		if err := s.checkBoundary(ctx, account, in.Boundary); err != nil {
			return nil, err
		}
	}
	u := &User{
		Account: account, Name: in.Name, ID: newUniqueID("AIDA"), Path: in.Path,
		CreateDate: s.now().UTC().Truncate(time.Second), Tags: in.Tags, Boundary: in.Boundary,
	}
	err := create(ctx, s, entityKey(account, kindUser, in.Name), u, func() error {
		return awserr.New(awserr.EntityAlreadyExists, "User with name %s already exists.", in.Name)
	})
	if err != nil {
		return nil, err
	}
	return u, nil
}

// GetUser returns a user (names match ignoring case).
func (s *Service) GetUser(ctx context.Context, account, name string) (*User, error) {
	if err := checkEntityName(name, "userName", MaxUserName); err != nil {
		return nil, err
	}
	u, _, err := load[User](ctx, s, entityKey(account, kindUser, name), func() error { return noSuchUser(name) })
	return u, err
}

// LookupUser returns a user from the in-memory copy (nil if none): for
// deriving resource ARNs before authorization.
func (s *Service) LookupUser(account, name string) *User { return s.idx.user(account, name) }

// ListUsers lists the users of account whose path starts with prefix.
func (s *Service) ListUsers(account, prefix string) []*User {
	return filterPath(s.idx.listUsers(account), prefix, func(u *User) string { return u.Path })
}

// UpdateUser renames a user or moves it to another path ("" leaves either
// unchanged).
func (s *Service) UpdateUser(ctx context.Context, account, name, newName, newPath string) (*User, error) {
	var v violations
	checkName(&v, name, "userName", MaxUserName)
	if newName != "" {
		checkName(&v, newName, "newUserName", MaxUserName)
	}
	checkPath(&v, newPath, "newPath")
	if err := v.err(); err != nil {
		return nil, err
	}
	if newName == "" || strings.EqualFold(newName, name) {
		return mutateUser(ctx, s, account, name, func(u *User) error {
			if newName != "" {
				u.Name = newName
			}
			if newPath != "" {
				u.Path = newPath
			}
			return nil
		})
	}
	key := entityKey(account, kindUser, name)
	u, rev, err := load[User](ctx, s, key, func() error { return noSuchUser(name) })
	if err != nil {
		return nil, err
	}
	u.Name = newName
	if newPath != "" {
		u.Path = newPath
	}
	newKey := entityKey(account, kindUser, newName)
	nrev, err := createRev(ctx, s, newKey, u, func() error {
		return awserr.New(awserr.EntityAlreadyExists, "User with name %s already exists.", newName)
	})
	if err != nil {
		return nil, err
	}
	if err := remove(ctx, s, key, rev); err != nil {
		// The user changed meanwhile: undo the copy.
		_ = remove(context.WithoutCancel(ctx), s, newKey, nrev)
		return nil, err
	}
	return u, nil
}

// DeleteUser deletes a user that has no access keys, policies or group
// memberships left, as IAM requires.
func (s *Service) DeleteUser(ctx context.Context, account, name string) error {
	if err := checkEntityName(name, "userName", MaxUserName); err != nil {
		return err
	}
	key := entityKey(account, kindUser, name)
	u, rev, err := load[User](ctx, s, key, func() error { return noSuchUser(name) })
	if err != nil {
		return err
	}
	switch {
	case len(u.Keys) > 0:
		return deleteConflict("delete access keys")
	case len(u.Inline) > 0:
		return deleteConflict("delete policies")
	case len(u.Attached) > 0:
		return deleteConflict("detach all policies")
	case len(u.Groups) > 0:
		return deleteConflict("remove user from all groups")
	}
	return remove(ctx, s, key, rev)
}

// TagUser adds or replaces tags on a user.
func (s *Service) TagUser(ctx context.Context, account, name string, tags []Tag) error {
	if err := checkTags(tags); err != nil {
		return err
	}
	_, err := mutateUser(ctx, s, account, name, func(u *User) error {
		var err error
		u.Tags, err = mergeTags(u.Tags, tags)
		return err
	})
	return err
}

// UntagUser removes tags from a user.
func (s *Service) UntagUser(ctx context.Context, account, name string, keys []string) error {
	if err := checkTagKeys(keys); err != nil {
		return err
	}
	_, err := mutateUser(ctx, s, account, name, func(u *User) error {
		u.Tags = removeTags(u.Tags, keys)
		return nil
	})
	return err
}

// AddUserToGroup makes a user a member of a group.
func (s *Service) AddUserToGroup(ctx context.Context, account, groupName, userName string) error {
	g, err := s.GetGroup(ctx, account, groupName)
	if err != nil {
		return err
	}
	_, err = mutateUser(ctx, s, account, userName, func(u *User) error {
		if slices.Contains(u.Groups, g.ID) {
			return nil
		}
		if len(u.Groups) >= MaxGroupsPerUser {
			return limitExceeded("Cannot exceed quota for GroupsPerUser: 10")
		}
		u.Groups = append(u.Groups, g.ID)
		return nil
	})
	return err
}

// RemoveUserFromGroup ends a user's membership of a group.
func (s *Service) RemoveUserFromGroup(ctx context.Context, account, groupName, userName string) error {
	g, err := s.GetGroup(ctx, account, groupName)
	if err != nil {
		return err
	}
	_, err = mutateUser(ctx, s, account, userName, func(u *User) error {
		if !slices.Contains(u.Groups, g.ID) {
			return awserr.New(awserr.NoSuchEntity, "The user with name %s cannot be found in group %s.", userName, groupName)
		}
		u.Groups = slices.DeleteFunc(u.Groups, func(id string) bool { return id == g.ID })
		return nil
	})
	return err
}

// GroupsForUser lists the groups a user belongs to.
func (s *Service) GroupsForUser(ctx context.Context, account, userName string) ([]*Group, error) {
	u, err := s.GetUser(ctx, account, userName)
	if err != nil {
		return nil, err
	}
	var out []*Group
	for _, id := range u.Groups {
		if g := s.idx.groupByID(account, id); g != nil {
			out = append(out, g)
		}
	}
	sortBy(out, func(g *Group) string { return strings.ToLower(g.Name) })
	return out, nil
}

func checkEntityName(name, member string, max int) error {
	var v violations
	checkName(&v, name, member, max)
	return v.err()
}

// filterPath keeps the entities whose path starts with prefix ("" keeps
// all).
func filterPath[T any](in []*T, prefix string, path func(*T) string) []*T {
	if prefix == "" || prefix == "/" {
		return in
	}
	out := in[:0:0]
	for _, e := range in {
		if strings.HasPrefix(path(e), prefix) {
			out = append(out, e)
		}
	}
	return out
}

// GroupNames lists the names of the groups a user belongs to, from the
// in-memory copy.
func (s *Service) GroupNames(u *User) []string {
	var out []string
	for _, id := range u.Groups {
		if g := s.idx.groupByID(u.Account, id); g != nil {
			out = append(out, g.Name)
		}
	}
	slices.Sort(out)
	return out
}
