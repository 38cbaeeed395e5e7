package api

import (
	"github.com/cloister/cloister/internal/awserr"
	"github.com/cloister/cloister/internal/iam"
	"strings"
)

// The IAM user, access key and group operations.

func writeTags(w *xmlWriter, tags []iam.Tag) {
	w.list("Tags", len(tags), func(i int) {
		w.text("Key", tags[i].Key)
		w.text("Value", tags[i].Value)
	})
}

func writeBoundary(w *xmlWriter, arn string) {
	if arn == "" {
		return
	}
	w.start("PermissionsBoundary")
	w.text("PermissionsBoundaryType", "PermissionsBoundaryPolicy")
	w.text("PermissionsBoundaryArn", arn)
	w.end("PermissionsBoundary")
}

// writeUser writes a User; full adds what only GetUser and CreateUser
// return (permissions boundary and tags).
func writeUser(w *xmlWriter, u *iam.User, full bool) {
	w.text("Path", u.Path)
	w.text("UserName", u.Name)
	w.text("UserId", u.ID)
	w.text("Arn", u.ARN())
	w.date("CreateDate", u.CreateDate)
	if full {
		writeBoundary(w, u.Boundary)
		if len(u.Tags) > 0 {
			writeTags(w, u.Tags)
		}
	}
}

func authzCreateUser(q *qcall) error { return authzCreateEntity(q, "User") }

// authzCreateEntity authorizes creating a User or Role (entity), named by
// the {entity}Name parameter: iam:Create{entity} with the request's tags and
// permissions boundary as condition keys, and iam:Tag{entity} when the
// request carries tags, as IAM does. required lists the other mandatory
// parameters.
func authzCreateEntity(q *qcall, entity string, required ...string) error {
	nameParam := entity + "Name"
	if err := q.p.required(append([]string{nameParam}, required...)...); err != nil {
		return err
	}
	tags, err := q.tags("Tags")
	if err != nil {
		return err
	}
	path := q.p.get("Path")
	if path == "" {
		path = "/"
	}
	arn := iam.EntityARN(q.account, strings.ToLower(entity), path, q.p.get(nameParam))
	keys := map[string][]string{}
	addRequestTags(keys, tags)
	if b := q.p.get("PermissionsBoundary"); b != "" {
		keys["iam:PermissionsBoundary"] = []string{b}
	}
	if err := q.authorize("iam:Create"+entity, arn, "", keys, nil); err != nil {
		return err
	}
	if len(tags) > 0 {
		return q.authorize("iam:Tag"+entity, arn, "", keys, nil)
	}
	return nil
}

func handleCreateUser(q *qcall) error {
	tags, err := q.tags("Tags")
	if err != nil {
		return err
	}
	u, err := q.ids().CreateUser(q.ctx, q.account, iam.CreateUserInput{
		Name: q.p.get("UserName"), Path: q.p.get("Path"), Boundary: q.p.get("PermissionsBoundary"), Tags: tags,
	})
	if err != nil {
		return err
	}
	return q.respond(func(w *xmlWriter) {
		w.start("User")
		writeUser(w, u, true)
		w.end("User")
	})
}

// authzUserOrSelf authorizes an operation on the user UserName or, when
// the request names none, on the caller itself: its own user, or the root
// user (q.name "").
func authzUserOrSelf(action string) func(q *qcall) error {
	return func(q *qcall) error {
		if q.p.has("UserName") {
			q.name = q.p.get("UserName")
			if q.name == "" {
				// "" stands for the root user below: an empty parameter
				// must never reach it.
				return awserr.New(awserr.Validation, "1 validation error detected: Value '' at 'userName' failed to satisfy constraint: Member must have length greater than or equal to 1")
			}
			arn, keys := q.userARN(q.name)
			return q.authorize(action, arn, "", keys, nil)
		}
		switch q.caller.Type {
		case iam.TypeRoot:
			q.name = ""
		case iam.TypeUser:
			q.name = q.caller.Name
		default:
			return awserr.New(awserr.Validation, "Must specify userName when calling with non-User credentials")
		}
		return q.authorize(action, q.caller.ARN, "", nil, nil)
	}
}

func handleGetUser(q *qcall) error {
	if q.name == "" {
		// The root user, as GetUser describes it.
		a, err := q.ids().Account(q.ctx, q.account)
		if err != nil {
			return err
		}
		return q.respond(func(w *xmlWriter) {
			w.start("User")
			w.text("UserId", q.account)
			w.text("Arn", q.caller.ARN)
			w.date("CreateDate", a.CreateDate)
			w.end("User")
		})
	}
	u, err := q.ids().GetUser(q.ctx, q.account, q.name)
	if err != nil {
		return err
	}
	return q.respond(func(w *xmlWriter) {
		w.start("User")
		writeUser(w, u, true)
		w.end("User")
	})
}

func handleListUsers(q *qcall) error {
	users := q.ids().ListUsers(q.account, q.p.get("PathPrefix"))
	pg, err := paginate(q.p, len(users))
	if err != nil {
		return err
	}
	users = users[pg.start:pg.end]
	return q.respond(func(w *xmlWriter) {
		w.list("Users", len(users), func(i int) { writeUser(w, users[i], false) })
		pg.write(w)
	})
}

func handleUpdateUser(q *qcall) error {
	if _, err := q.ids().UpdateUser(q.ctx, q.account, q.name, q.p.get("NewUserName"), q.p.get("NewPath")); err != nil {
		return err
	}
	return q.done()
}

func handleDeleteUser(q *qcall) error {
	if err := q.ids().DeleteUser(q.ctx, q.account, q.name); err != nil {
		return err
	}
	return q.done()
}

func handleListUserTags(q *qcall) error {
	u, err := q.ids().GetUser(q.ctx, q.account, q.name)
	if err != nil {
		return err
	}
	return writeTagPage(q, u.Tags)
}

func writeTagPage(q *qcall, tags []iam.Tag) error {
	pg, err := paginate(q.p, len(tags))
	if err != nil {
		return err
	}
	tags = tags[pg.start:pg.end]
	return q.respond(func(w *xmlWriter) {
		writeTags(w, tags)
		pg.write(w)
	})
}

func handleCreateAccessKey(q *qcall) error {
	k, err := q.ids().CreateAccessKey(q.ctx, q.account, q.name)
	if err != nil {
		return err
	}
	return q.respond(func(w *xmlWriter) {
		w.start("AccessKey")
		w.text("UserName", userNameOf(k.Principal, q.account))
		w.text("AccessKeyId", k.AccessKeyID)
		w.text("Status", k.Status)
		w.text("SecretAccessKey", k.Secret.Reveal())
		w.date("CreateDate", k.CreateDate)
		w.end("AccessKey")
	})
}

// userNameOf is the UserName IAM reports for a key's owner: the user's
// name, or the account ID for the root user.
func userNameOf(p iam.Principal, account string) string {
	if p.Type == iam.TypeRoot {
		return account
	}
	return p.Name
}

func handleListAccessKeys(q *qcall) error {
	keys, err := q.ids().ListAccessKeys(q.ctx, q.account, q.name)
	if err != nil {
		return err
	}
	pg, err := paginate(q.p, len(keys))
	if err != nil {
		return err
	}
	keys = keys[pg.start:pg.end]
	return q.respond(func(w *xmlWriter) {
		w.list("AccessKeyMetadata", len(keys), func(i int) {
			name := keys[i].UserName
			if name == "" {
				name = q.account
			}
			w.text("UserName", name)
			w.text("AccessKeyId", keys[i].AccessKeyID)
			w.text("Status", keys[i].Status)
			w.date("CreateDate", keys[i].CreateDate)
		})
		pg.write(w)
	})
}

func handleUpdateAccessKey(q *qcall) error {
	if err := q.p.required("AccessKeyId", "Status"); err != nil {
		return err
	}
	if err := q.ids().UpdateAccessKey(q.ctx, q.account, q.name, q.p.get("AccessKeyId"), q.p.get("Status")); err != nil {
		return err
	}
	return q.done()
}

func handleDeleteAccessKey(q *qcall) error {
	return withParam(q, "AccessKeyId", func(v string) error { return q.ids().DeleteAccessKey(q.ctx, q.account, q.name, v) })
}

func writeGroup(w *xmlWriter, g *iam.Group) {
	w.text("Path", g.Path)
	w.text("GroupName", g.Name)
	w.text("GroupId", g.ID)
	w.text("Arn", g.ARN())
	w.date("CreateDate", g.CreateDate)
}

func authzCreateGroup(q *qcall) error {
	if err := q.p.required("GroupName"); err != nil {
		return err
	}
	path := q.p.get("Path")
	if path == "" {
		path = "/"
	}
	return q.authorize("iam:CreateGroup", iam.EntityARN(q.account, "group", path, q.p.get("GroupName")), "", nil, nil)
}

func handleCreateGroup(q *qcall) error {
	g, err := q.ids().CreateGroup(q.ctx, q.account, q.p.get("GroupName"), q.p.get("Path"))
	if err != nil {
		return err
	}
	return q.respond(func(w *xmlWriter) {
		w.start("Group")
		writeGroup(w, g)
		w.end("Group")
	})
}

func handleGetGroup(q *qcall) error {
	g, err := q.ids().GetGroup(q.ctx, q.account, q.name)
	if err != nil {
		return err
	}
	users := q.ids().GroupMembers(q.account, g)
	pg, err := paginate(q.p, len(users))
	if err != nil {
		return err
	}
	users = users[pg.start:pg.end]
	return q.respond(func(w *xmlWriter) {
		w.start("Group")
		writeGroup(w, g)
		w.end("Group")
		w.list("Users", len(users), func(i int) { writeUser(w, users[i], false) })
		pg.write(w)
	})
}

func handleListGroups(q *qcall) error {
	groups := q.ids().ListGroups(q.account, q.p.get("PathPrefix"))
	return writeGroupPage(q, groups)
}

func writeGroupPage(q *qcall, groups []*iam.Group) error {
	pg, err := paginate(q.p, len(groups))
	if err != nil {
		return err
	}
	groups = groups[pg.start:pg.end]
	return q.respond(func(w *xmlWriter) {
		w.list("Groups", len(groups), func(i int) { writeGroup(w, groups[i]) })
		pg.write(w)
	})
}

func handleUpdateGroup(q *qcall) error {
	if err := q.ids().UpdateGroup(q.ctx, q.account, q.name, q.p.get("NewGroupName"), q.p.get("NewPath")); err != nil {
		return err
	}
	return q.done()
}

func handleDeleteGroup(q *qcall) error {
	if err := q.ids().DeleteGroup(q.ctx, q.account, q.name); err != nil {
		return err
	}
	return q.done()
}

func handleAddUserToGroup(q *qcall) error {
	return withParam(q, "UserName", func(v string) error { return q.ids().AddUserToGroup(q.ctx, q.account, q.name, v) })
}

func handleRemoveUserFromGroup(q *qcall) error {
	return withParam(q, "UserName", func(v string) error { return q.ids().RemoveUserFromGroup(q.ctx, q.account, q.name, v) })
}

func handleListGroupsForUser(q *qcall) error {
	groups, err := q.ids().GroupsForUser(q.ctx, q.account, q.name)
	if err != nil {
		return err
	}
	return writeGroupPage(q, groups)
}
