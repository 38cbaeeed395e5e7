package api

import (
	"slices"

	"github.com/cloister/cloister/internal/awserr"
	"github.com/cloister/cloister/internal/iam"
)

// GetAccountAuthorizationDetails and the policy simulator.

func writeInlineList(w *xmlWriter, name string, list []iam.InlinePolicy) {
	w.list(name, len(list), func(i int) {
		w.text("PolicyName", list[i].Name)
		w.text("PolicyDocument", encodeDoc(list[i].Document))
	})
}

func writeAttachedList(w *xmlWriter, arns []string) {
	w.list("AttachedManagedPolicies", len(arns), func(i int) {
		name := arns[i]
		if j := lastSlash(name); j >= 0 {
			name = name[j+1:]
		}
		w.text("PolicyName", name)
		w.text("PolicyArn", arns[i])
	})
}

func lastSlash(s string) int {
	for i := len(s) - 1; i >= 0; i-- {
		if s[i] == '/' {
			return i
		}
	}
	return -1
}

func handleAuthorizationDetails(q *qcall) error {
	filter, err := q.p.list("Filter")
	if err != nil {
		return err
	}
	for _, f := range filter {
		switch f {
		case "User", "Role", "Group", "LocalManagedPolicy", "AWSManagedPolicy":
		default:
			return awserr.New(awserr.Validation, "1 validation error detected: Value '[%s]' at 'filter' failed to satisfy constraint: Member must satisfy constraint: [Member must satisfy enum value set: [User, Role, Group, LocalManagedPolicy, AWSManagedPolicy]]", truncate(f, 64))
		}
	}
	want := func(f string) bool { return len(filter) == 0 || slices.Contains(filter, f) }
	ids := q.ids()
	type item struct {
		user   *iam.User
		group  *iam.Group
		role   *iam.Role
		policy *iam.ManagedPolicy
	}
	var items []item
	if want("User") {
		for _, u := range ids.ListUsers(q.account, "") {
			items = append(items, item{user: u})
		}
	}
	if want("Group") {
		for _, g := range ids.ListGroups(q.account, "") {
			items = append(items, item{group: g})
		}
	}
	if want("Role") {
		for _, r := range ids.ListRoles(q.account, "") {
			items = append(items, item{role: r})
		}
	}
	usage := ids.PolicyUsage(q.account)
	if want("AWSManagedPolicy") || want("LocalManagedPolicy") {
		all, err := ids.ListPolicies(q.account, iam.ListPoliciesInput{})
		if err != nil {
			return err
		}
		for _, p := range all {
			u := usage[p.ARN()]
			switch {
			case p.AWSManaged() && want("AWSManagedPolicy") && u.Attachments+u.Boundaries > 0,
				!p.AWSManaged() && want("LocalManagedPolicy"):
				items = append(items, item{policy: p})
			}
		}
	}
	pg, err := paginate(q.p, len(items))
	if err != nil {
		return err
	}
	items = items[pg.start:pg.end]
	return q.respond(func(w *xmlWriter) {
		w.start("UserDetailList")
		for _, it := range items {
			if u := it.user; u != nil {
				w.start("member")
				w.text("Path", u.Path)
				w.text("UserName", u.Name)
				w.text("UserId", u.ID)
				w.text("Arn", u.ARN())
				w.date("CreateDate", u.CreateDate)
				writeInlineList(w, "UserPolicyList", u.Inline)
				w.strings("GroupList", ids.GroupNames(u))
				writeAttachedList(w, u.Attached)
				writeBoundary(w, u.Boundary)
				writeTags(w, u.Tags)
				w.end("member")
			}
		}
		w.end("UserDetailList")
		w.start("GroupDetailList")
		for _, it := range items {
			if g := it.group; g != nil {
				w.start("member")
				w.text("Path", g.Path)
				w.text("GroupName", g.Name)
				w.text("GroupId", g.ID)
				w.text("Arn", g.ARN())
				w.date("CreateDate", g.CreateDate)
				writeInlineList(w, "GroupPolicyList", g.Inline)
				writeAttachedList(w, g.Attached)
				w.end("member")
			}
		}
		w.end("GroupDetailList")
		w.start("RoleDetailList")
		for _, it := range items {
			if r := it.role; r != nil {
				w.start("member")
				w.text("Path", r.Path)
				w.text("RoleName", r.Name)
				w.text("RoleId", r.ID)
				w.text("Arn", r.ARN())
				w.date("CreateDate", r.CreateDate)
				w.text("AssumeRolePolicyDocument", encodeDoc(r.Trust))
				w.list("InstanceProfileList", 0, nil)
				writeInlineList(w, "RolePolicyList", r.Inline)
				writeAttachedList(w, r.Attached)
				writeBoundary(w, r.Boundary)
				writeTags(w, r.Tags)
				w.start("RoleLastUsed")
				w.end("RoleLastUsed")
				w.end("member")
			}
		}
		w.end("RoleDetailList")
		w.start("Policies")
		for _, it := range items {
			if p := it.policy; p != nil {
				w.start("member")
				writePolicy(w, p, usage[p.ARN()], false)
				w.opt("Description", p.Description)
				w.list("PolicyVersionList", len(p.Versions), func(i int) { writeVersion(w, p, &p.Versions[i], true) })
				w.end("member")
			}
		}
		w.end("Policies")
		pg.write(w)
	})
}

func authzSimulatePrincipal(q *qcall) error {
	if err := q.p.required("PolicySourceArn"); err != nil {
		return err
	}
	q.arn = q.p.get("PolicySourceArn")
	return q.authorize("iam:SimulatePrincipalPolicy", q.arn, policyAccount(q.arn, q.account), nil, nil)
}

// simulateInput reads the simulator's parameters.
func (q *qcall) simulateInput() (iam.SimulateInput, error) {
	var in iam.SimulateInput
	var err error
	if q.action == "SimulatePrincipalPolicy" {
		in.Source = q.arn
	} else if err := q.p.required("PolicyInputList.member.1"); err != nil {
		return in, err
	}
	if err := q.p.required("ActionNames.member.1"); err != nil {
		return in, err
	}
	if in.Policies, err = q.p.list("PolicyInputList"); err != nil {
		return in, err
	}
	if in.Boundaries, err = q.p.list("PermissionsBoundaryPolicyInputList"); err != nil {
		return in, err
	}
	if in.Actions, err = q.p.list("ActionNames"); err != nil {
		return in, err
	}
	if in.Resources, err = q.p.list("ResourceArns"); err != nil {
		return in, err
	}
	in.ResourcePolicy, in.ResourceOwner, in.CallerARN = q.p.get("ResourcePolicy"), q.p.get("ResourceOwner"), q.p.get("CallerArn")
	entries, err := q.p.structs("ContextEntries")
	if err != nil {
		return in, err
	}
	for _, e := range entries {
		vals, err := q.p.list(e + "ContextKeyValues")
		if err != nil {
			return in, err
		}
		in.Context = append(in.Context, iam.ContextEntry{Key: q.p.get(e + "ContextKeyName"), Values: vals, Type: q.p.get(e + "ContextKeyType")})
	}
	return in, nil
}

func handleSimulate(q *qcall) error {
	in, err := q.simulateInput()
	if err != nil {
		return err
	}
	results, err := q.ids().Simulate(q.ctx, q.account, in)
	if err != nil {
		return err
	}
	pg, err := paginate(q.p, len(results))
	if err != nil {
		return err
	}
	results = results[pg.start:pg.end]
	return q.respond(func(w *xmlWriter) {
		w.list("EvaluationResults", len(results), func(i int) {
			r := results[i]
			w.text("EvalActionName", r.Action)
			w.text("EvalResourceName", r.Resource)
			w.text("EvalDecision", r.Decision)
			w.list("MatchedStatements", len(r.Matched), func(j int) {
				w.text("SourcePolicyId", r.Matched[j].SourcePolicyID)
				w.text("SourcePolicyType", r.Matched[j].SourcePolicyType)
			})
			w.list("MissingContextValues", 0, nil)
			if r.AllowedByOrganizations != nil {
				w.start("OrganizationsDecisionDetail")
				w.boolean("AllowedByOrganizations", *r.AllowedByOrganizations)
				w.end("OrganizationsDecisionDetail")
			}
			if r.AllowedByBoundary != nil {
				w.start("PermissionsBoundaryDecisionDetail")
				w.boolean("AllowedByPermissionsBoundary", *r.AllowedByBoundary)
				w.end("PermissionsBoundaryDecisionDetail")
			}
		})
		pg.write(w)
	})
}
