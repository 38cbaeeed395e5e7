package api

import (
	"github.com/cloister/cloister/internal/iam"
)

// The IAM policy operations: inline policies, managed policies and their
// versions, attachments and permissions boundaries.

func handlePutInline(k iam.EntityKind) func(q *qcall) error {
	return func(q *qcall) error {
		if err := q.p.required("PolicyName", "PolicyDocument"); err != nil {
			return err
		}
		if err := q.ids().PutInlinePolicy(q.ctx, q.account, k, q.name, q.p.get("PolicyName"), q.p.get("PolicyDocument")); err != nil {
			return err
		}
		return q.done()
	}
}

func handleGetInline(k iam.EntityKind) func(q *qcall) error {
	return func(q *qcall) error {
		if err := q.p.required("PolicyName"); err != nil {
			return err
		}
		name := q.p.get("PolicyName")
		doc, err := q.ids().InlinePolicy(q.ctx, q.account, k, q.name, name)
		if err != nil {
			return err
		}
		return q.respond(func(w *xmlWriter) {
			w.text(nameParam(k), q.entityName(k))
			w.text("PolicyName", name)
			w.text("PolicyDocument", encodeDoc(doc))
		})
	}
}

// entityName is the stored spelling of the entity q names.
func (q *qcall) entityName(k iam.EntityKind) string {
	switch k {
	case iam.KindUser:
		if u := q.ids().LookupUser(q.account, q.name); u != nil {
			return u.Name
		}
	case iam.KindGroup:
		if g := q.ids().LookupGroup(q.account, q.name); g != nil {
			return g.Name
		}
	case iam.KindRole:
		if r := q.ids().LookupRole(q.account, q.name); r != nil {
			return r.Name
		}
	}
	return q.name
}

func handleListInline(k iam.EntityKind) func(q *qcall) error {
	return func(q *qcall) error {
		names, err := q.ids().InlinePolicyNames(q.ctx, q.account, k, q.name)
		if err != nil {
			return err
		}
		pg, err := paginate(q.p, len(names))
		if err != nil {
			return err
		}
		names = names[pg.start:pg.end]
		return q.respond(func(w *xmlWriter) {
			w.strings("PolicyNames", names)
			pg.write(w)
		})
	}
}

func handleDeleteInline(k iam.EntityKind) func(q *qcall) error {
	return func(q *qcall) error {
		if err := q.p.required("PolicyName"); err != nil {
			return err
		}
		if err := q.ids().DeleteInlinePolicy(q.ctx, q.account, k, q.name, q.p.get("PolicyName")); err != nil {
			return err
		}
		return q.done()
	}
}

// writePolicy writes a managed Policy with its usage counts.
func writePolicy(w *xmlWriter, p *iam.ManagedPolicy, u iam.Usage, full bool) {
	w.text("PolicyName", p.Name)
	w.text("PolicyId", p.ID)
	w.text("Arn", p.ARN())
	w.text("Path", p.Path)
	w.text("DefaultVersionId", p.DefaultVersion)
	w.integer("AttachmentCount", u.Attachments)
	w.integer("PermissionsBoundaryUsageCount", u.Boundaries)
	w.boolean("IsAttachable", true)
	if full {
		w.opt("Description", p.Description)
	}
	w.date("CreateDate", p.CreateDate)
	w.date("UpdateDate", p.UpdateDate)
	if full && len(p.Tags) > 0 {
		writeTags(w, p.Tags)
	}
}

func writeVersion(w *xmlWriter, p *iam.ManagedPolicy, v *iam.PolicyVersion, withDoc bool) {
	if withDoc {
		w.text("Document", encodeDoc(v.Document))
	}
	w.text("VersionId", v.ID)
	w.boolean("IsDefaultVersion", v.ID == p.DefaultVersion)
	w.date("CreateDate", v.CreateDate)
}

func authzCreatePolicy(q *qcall) error {
	if err := q.p.required("PolicyName", "PolicyDocument"); err != nil {
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
	arn := iam.EntityARN(q.account, "policy", path, q.p.get("PolicyName"))
	keys := map[string][]string{}
	addRequestTags(keys, tags)
	if err := q.authorize("iam:CreatePolicy", arn, "", keys, nil); err != nil {
		return err
	}
	if len(tags) > 0 {
		return q.authorize("iam:TagPolicy", arn, "", keys, nil)
	}
	return nil
}

func handleCreatePolicy(q *qcall) error {
	tags, err := q.tags("Tags")
	if err != nil {
		return err
	}
	p, err := q.ids().CreatePolicy(q.ctx, q.account, iam.CreatePolicyInput{
		Name: q.p.get("PolicyName"), Path: q.p.get("Path"), Document: q.p.get("PolicyDocument"),
		Description: q.p.get("Description"), Tags: tags,
	})
	if err != nil {
		return err
	}
	return q.respond(func(w *xmlWriter) {
		w.start("Policy")
		writePolicy(w, p, iam.Usage{}, true)
		w.end("Policy")
	})
}

func handleGetPolicy(q *qcall) error {
	p, err := q.ids().ManagedPolicyByARN(q.ctx, q.account, q.arn)
	if err != nil {
		return err
	}
	u := q.ids().PolicyUsage(q.account)[p.ARN()]
	return q.respond(func(w *xmlWriter) {
		w.start("Policy")
		writePolicy(w, p, u, true)
		w.end("Policy")
	})
}

func handleListPolicies(q *qcall) error {
	onlyAttached, err := q.p.boolean("OnlyAttached", "onlyAttached")
	if err != nil {
		return err
	}
	policies, err := q.ids().ListPolicies(q.account, iam.ListPoliciesInput{
		Scope: q.p.get("Scope"), OnlyAttached: onlyAttached, PathPrefix: q.p.get("PathPrefix"), UsageFilter: q.p.get("PolicyUsageFilter"),
	})
	if err != nil {
		return err
	}
	usage := q.ids().PolicyUsage(q.account)
	pg, err := paginate(q.p, len(policies))
	if err != nil {
		return err
	}
	policies = policies[pg.start:pg.end]
	return q.respond(func(w *xmlWriter) {
		w.list("Policies", len(policies), func(i int) { writePolicy(w, policies[i], usage[policies[i].ARN()], false) })
		pg.write(w)
	})
}

func handleDeletePolicy(q *qcall) error {
	if err := q.ids().DeletePolicy(q.ctx, q.account, q.arn); err != nil {
		return err
	}
	return q.done()
}

func handleCreatePolicyVersion(q *qcall) error {
	if err := q.p.required("PolicyDocument"); err != nil {
		return err
	}
	setDefault, err := q.p.boolean("SetAsDefault", "setAsDefault")
	if err != nil {
		return err
	}
	v, err := q.ids().CreatePolicyVersion(q.ctx, q.account, q.arn, q.p.get("PolicyDocument"), setDefault)
	if err != nil {
		return err
	}
	return q.respond(func(w *xmlWriter) {
		w.start("PolicyVersion")
		w.text("VersionId", v.ID)
		w.boolean("IsDefaultVersion", setDefault)
		w.date("CreateDate", v.CreateDate)
		w.end("PolicyVersion")
	})
}

func handleGetPolicyVersion(q *qcall) error {
	if err := q.p.required("VersionId"); err != nil {
		return err
	}
	p, v, err := q.ids().PolicyVersion(q.ctx, q.account, q.arn, q.p.get("VersionId"))
	if err != nil {
		return err
	}
	return q.respond(func(w *xmlWriter) {
		w.start("PolicyVersion")
		writeVersion(w, p, v, true)
		w.end("PolicyVersion")
	})
}

func handleListPolicyVersions(q *qcall) error {
	p, err := q.ids().ManagedPolicyByARN(q.ctx, q.account, q.arn)
	if err != nil {
		return err
	}
	// Newest first, as IAM lists them.
	versions := make([]*iam.PolicyVersion, len(p.Versions))
	for i := range p.Versions {
		versions[len(p.Versions)-1-i] = &p.Versions[i]
	}
	pg, err := paginate(q.p, len(versions))
	if err != nil {
		return err
	}
	versions = versions[pg.start:pg.end]
	return q.respond(func(w *xmlWriter) {
		w.list("Versions", len(versions), func(i int) { writeVersion(w, p, versions[i], false) })
		pg.write(w)
	})
}

func handleDeletePolicyVersion(q *qcall) error {
	return withParam(q, "VersionId", func(v string) error { return q.ids().DeletePolicyVersion(q.ctx, q.account, q.arn, v) })
}

func handleSetDefaultPolicyVersion(q *qcall) error {
	return withParam(q, "VersionId", func(v string) error { return q.ids().SetDefaultPolicyVersion(q.ctx, q.account, q.arn, v) })
}

func handleListEntitiesForPolicy(q *qcall) error {
	if err := iam.CheckPathPrefix(q.p.get("PathPrefix")); err != nil {
		return err
	}
	ents, err := q.ids().EntitiesForPolicy(q.ctx, q.account, q.arn, q.p.get("EntityFilter"), q.p.get("PathPrefix"), q.p.get("PolicyUsageFilter"))
	if err != nil {
		return err
	}
	pg, err := paginate(q.p, len(ents))
	if err != nil {
		return err
	}
	ents = ents[pg.start:pg.end]
	var users, groups, roles []iam.PolicyEntity
	for _, e := range ents {
		switch e.Kind {
		case iam.KindUser:
			users = append(users, e)
		case iam.KindGroup:
			groups = append(groups, e)
		case iam.KindRole:
			roles = append(roles, e)
		}
	}
	return q.respond(func(w *xmlWriter) {
		w.list("PolicyGroups", len(groups), func(i int) {
			w.text("GroupName", groups[i].Name)
			w.text("GroupId", groups[i].ID)
		})
		w.list("PolicyUsers", len(users), func(i int) {
			w.text("UserName", users[i].Name)
			w.text("UserId", users[i].ID)
		})
		w.list("PolicyRoles", len(roles), func(i int) {
			w.text("RoleName", roles[i].Name)
			w.text("RoleId", roles[i].ID)
		})
		pg.write(w)
	})
}

func handleAttach(k iam.EntityKind) func(q *qcall) error {
	return func(q *qcall) error {
		if err := q.ids().AttachPolicy(q.ctx, q.account, k, q.name, q.p.get("PolicyArn")); err != nil {
			return err
		}
		return q.done()
	}
}

func handleDetach(k iam.EntityKind) func(q *qcall) error {
	return func(q *qcall) error {
		if err := q.ids().DetachPolicy(q.ctx, q.account, k, q.name, q.p.get("PolicyArn")); err != nil {
			return err
		}
		return q.done()
	}
}

func handleListAttached(k iam.EntityKind) func(q *qcall) error {
	return func(q *qcall) error {
		if err := iam.CheckPathPrefix(q.p.get("PathPrefix")); err != nil {
			return err
		}
		list, err := q.ids().AttachedPolicies(q.ctx, q.account, k, q.name, q.p.get("PathPrefix"))
		if err != nil {
			return err
		}
		pg, err := paginate(q.p, len(list))
		if err != nil {
			return err
		}
		list = list[pg.start:pg.end]
		return q.respond(func(w *xmlWriter) {
			w.list("AttachedPolicies", len(list), func(i int) {
				w.text("PolicyName", list[i].Name)
				w.text("PolicyArn", list[i].ARN)
			})
			pg.write(w)
		})
	}
}

func handlePutBoundary(k iam.EntityKind) func(q *qcall) error {
	return func(q *qcall) error {
		if err := q.ids().PutPermissionsBoundary(q.ctx, q.account, k, q.name, q.p.get("PermissionsBoundary")); err != nil {
			return err
		}
		return q.done()
	}
}

func handleDeleteBoundary(k iam.EntityKind) func(q *qcall) error {
	return func(q *qcall) error {
		if err := q.ids().DeletePermissionsBoundary(q.ctx, q.account, k, q.name); err != nil {
			return err
		}
		return q.done()
	}
}
