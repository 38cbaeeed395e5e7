package api

import (
	"github.com/cloister/cloister/internal/iam"
)

// The IAM role operations.

// writeRole writes a Role; full adds what only GetRole and CreateRole
// return (boundary, tags, last use).
func writeRole(w *xmlWriter, r *iam.Role, full bool) {
	w.text("Path", r.Path)
	w.text("RoleName", r.Name)
	w.text("RoleId", r.ID)
	w.text("Arn", r.ARN())
	w.date("CreateDate", r.CreateDate)
	w.text("AssumeRolePolicyDocument", encodeDoc(r.Trust))
	w.opt("Description", r.Description)
	w.integer("MaxSessionDuration", r.MaxSessionDuration)
	if full {
		writeBoundary(w, r.Boundary)
		if len(r.Tags) > 0 {
			writeTags(w, r.Tags)
		}
		w.start("RoleLastUsed")
		w.end("RoleLastUsed")
	}
}

func authzCreateRole(q *qcall) error {
	return authzCreateEntity(q, "Role", "AssumeRolePolicyDocument")
}

func handleCreateRole(q *qcall) error {
	tags, err := q.tags("Tags")
	if err != nil {
		return err
	}
	maxSession, err := q.p.integer("MaxSessionDuration", "maxSessionDuration")
	if err != nil {
		return err
	}
	r, err := q.ids().CreateRole(q.ctx, q.account, iam.CreateRoleInput{
		Name: q.p.get("RoleName"), Path: q.p.get("Path"), Trust: q.p.get("AssumeRolePolicyDocument"),
		Description: q.p.get("Description"), MaxSessionDuration: maxSession, Boundary: q.p.get("PermissionsBoundary"), Tags: tags,
	})
	if err != nil {
		return err
	}
	return q.respond(func(w *xmlWriter) {
		w.start("Role")
		writeRole(w, r, false)
		writeBoundary(w, r.Boundary)
		if len(r.Tags) > 0 {
			writeTags(w, r.Tags)
		}
		w.end("Role")
	})
}

func handleGetRole(q *qcall) error {
	r, err := q.ids().GetRole(q.ctx, q.account, q.name)
	if err != nil {
		return err
	}
	return q.respond(func(w *xmlWriter) {
		w.start("Role")
		writeRole(w, r, true)
		w.end("Role")
	})
}

func handleListRoles(q *qcall) error {
	roles := q.ids().ListRoles(q.account, q.p.get("PathPrefix"))
	pg, err := paginate(q.p, len(roles))
	if err != nil {
		return err
	}
	roles = roles[pg.start:pg.end]
	return q.respond(func(w *xmlWriter) {
		w.list("Roles", len(roles), func(i int) { writeRole(w, roles[i], false) })
		pg.write(w)
	})
}

func handleUpdateRole(q *qcall) error {
	var desc *string
	if q.p.has("Description") {
		d := q.p.get("Description")
		desc = &d
	}
	maxSession, err := q.p.integer("MaxSessionDuration", "maxSessionDuration")
	if err != nil {
		return err
	}
	if err := q.ids().UpdateRole(q.ctx, q.account, q.name, desc, maxSession); err != nil {
		return err
	}
	return q.respond(func(*xmlWriter) {})
}

func handleUpdateAssumeRolePolicy(q *qcall) error {
	return withParam(q, "PolicyDocument", func(v string) error { return q.ids().UpdateAssumeRolePolicy(q.ctx, q.account, q.name, v) })
}

func handleDeleteRole(q *qcall) error {
	if err := q.ids().DeleteRole(q.ctx, q.account, q.name); err != nil {
		return err
	}
	return q.done()
}

func handleListRoleTags(q *qcall) error {
	r, err := q.ids().GetRole(q.ctx, q.account, q.name)
	if err != nil {
		return err
	}
	return writeTagPage(q, r.Tags)
}
