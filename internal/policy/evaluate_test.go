package policy

import (
	"strings"
	"testing"
)

const fnA = "arn:aws:lambda:us-east-1:" + acctA + ":function:f"

var (
	rootA    = Principal{Type: TypeRoot, ARN: "arn:aws:iam::" + acctA + ":root", Account: acctA}
	rootB    = Principal{Type: TypeRoot, ARN: "arn:aws:iam::" + acctB + ":root", Account: acctB}
	sessionB = Principal{Type: TypeAssumedRole, ARN: "arn:aws:sts::" + acctB + ":assumed-role/rb/s", RoleARN: "arn:aws:iam::" + acctB + ":role/rb", Account: acctB}
	fedUser  = Principal{Type: TypeFederatedUser, ARN: "arn:aws:sts::" + acctA + ":federated-user/fed", RoleARN: "arn:aws:iam::" + acctA + ":user/dev/alice", Account: acctA}
	s3svc    = Principal{Type: TypeService, Service: "s3.amazonaws.com"}
	anon     = Principal{Type: TypeAnonymous}
	webID    = Principal{Type: TypeWebIdentity, Provider: "cognito-identity.amazonaws.com"}
)

// Statement bodies used by the table.
const (
	allowAll      = `{"Effect":"Allow","Action":"*","Resource":"*"}`
	allowLambda   = `{"Effect":"Allow","Action":"lambda:*","Resource":"*"}`
	allowGet      = `{"Sid":"Get","Effect":"Allow","Action":"lambda:GetFunction","Resource":"*"}`
	denyLambda    = `{"Sid":"NoLambda","Effect":"Deny","Action":"lambda:*","Resource":"*"}`
	allowS3       = `{"Effect":"Allow","Action":"s3:*","Resource":"*"}`
	reasonNoID    = "because no identity-based policy allows the lambda:GetFunction action"
	reasonNoRes   = "because no resource-based policy allows the lambda:GetFunction action"
	reasonNoBound = "because no permissions boundary allows the lambda:GetFunction action"
	reasonNoSess  = "because no session policy allows the lambda:GetFunction action"
	reasonNoSCP   = "because no service control policy allows the lambda:GetFunction action"
)

// doc wraps statements in a 2012-10-17 document.
func doc(stmts ...string) string {
	return `{"Version":"2012-10-17","Statement":[` + strings.Join(stmts, ",") + `]}`
}

// grantTo is a resource-policy statement allowing lambda:GetFunction on fnA
// to the given Principal element.
func grantTo(principal string) string {
	return `{"Sid":"Grant","Effect":"Allow","Principal":` + principal + `,"Action":"lambda:GetFunction","Resource":"` + fnA + `"}`
}

func TestEvaluate(t *testing.T) {
	tests := []struct {
		name       string
		principal  Principal
		action     string // default lambda:GetFunction
		resource   string // default fnA
		ctx        kv
		identity   []string
		resPolicy  string
		resKind    Kind // default Resource
		resAccount string
		boundary   string
		session    []string
		guardrails []string
		want       Decision
		reason     string // checked when non-empty
	}{
		// Identity-based policies.
		{name: "no policies", principal: alice, want: ImplicitDeny, reason: reasonNoID},
		{name: "identity allow", principal: alice, identity: []string{doc(allowGet)}, want: Allow},
		{name: "identity allow for another action", principal: alice, identity: []string{doc(allowS3)}, want: ImplicitDeny, reason: reasonNoID},
		{name: "identity deny beats allow", principal: alice, identity: []string{doc(allowAll, denyLambda)}, want: ExplicitDeny, reason: "with an explicit deny in an identity-based policy"},
		{name: "deny in another identity policy", principal: alice, identity: []string{doc(allowAll), doc(denyLambda)}, want: ExplicitDeny},
		{name: "policies are a union", principal: alice, identity: []string{doc(allowS3), doc(allowGet)}, want: Allow},
		{name: "actions match case-insensitively", principal: alice, identity: []string{doc(`{"Effect":"Allow","Action":"LAMBDA:getfunction","Resource":"*"}`)}, want: Allow},
		{name: "action wildcard", principal: alice, identity: []string{doc(`{"Effect":"Allow","Action":"lambda:Get*","Resource":"*"}`)}, want: Allow},
		{name: "action wildcard does not match", principal: alice, action: "lambda:ListFunctions", resource: "*", identity: []string{doc(`{"Effect":"Allow","Action":"lambda:Get*","Resource":"*"}`)}, want: ImplicitDeny},
		{name: "action question mark", principal: alice, identity: []string{doc(`{"Effect":"Allow","Action":"lambda:?etFunction","Resource":"*"}`)}, want: Allow},
		{name: "action * matches everything", principal: alice, action: "iam:CreateUser", identity: []string{doc(allowAll)}, want: Allow},
		{name: "action prefix is not a match", principal: alice, action: "lambda:GetFunctionConfiguration", identity: []string{doc(allowGet)}, want: ImplicitDeny},
		{name: "NotAction allows what is not listed", principal: alice, identity: []string{doc(`{"Effect":"Allow","NotAction":"iam:*","Resource":"*"}`)}, want: Allow},
		{name: "NotAction excludes what is listed", principal: alice, action: "iam:CreateUser", identity: []string{doc(`{"Effect":"Allow","NotAction":"iam:*","Resource":"*"}`)}, want: ImplicitDeny},
		{name: "Deny with NotAction", principal: alice, identity: []string{doc(allowAll, `{"Effect":"Deny","NotAction":["s3:*"],"Resource":"*"}`)}, want: ExplicitDeny},
		{name: "NotResource allows other resources", principal: alice, identity: []string{doc(`{"Effect":"Allow","Action":"lambda:*","NotResource":"arn:aws:lambda:*:*:function:secret"}`)}, want: Allow},
		{name: "NotResource excludes listed resources", principal: alice, resource: "arn:aws:lambda:us-east-1:" + acctA + ":function:secret", identity: []string{doc(`{"Effect":"Allow","Action":"lambda:*","NotResource":"arn:aws:lambda:*:*:function:secret"}`)}, want: ImplicitDeny},
		{name: "resource * spans colons", principal: alice, identity: []string{doc(`{"Effect":"Allow","Action":"lambda:*","Resource":"arn:aws:lambda:*"}`)}, want: Allow},
		{name: "resource * spans slashes", principal: alice, resource: "arn:aws:s3:::bucket/a/b/c", action: "s3:GetObject", identity: []string{doc(`{"Effect":"Allow","Action":"s3:*","Resource":"arn:aws:s3:::bucket/*"}`)}, want: Allow},
		{name: "resources match case-sensitively", principal: alice, identity: []string{doc(`{"Effect":"Allow","Action":"lambda:*","Resource":"arn:aws:lambda:us-east-1:111111111111:function:F"}`)}, want: ImplicitDeny},
		{name: "resource question mark", principal: alice, identity: []string{doc(`{"Effect":"Allow","Action":"lambda:*","Resource":"arn:aws:lambda:us-east-1:111111111111:function:?"}`)}, want: Allow},
		{name: "resource question mark needs a character", principal: alice, identity: []string{doc(`{"Effect":"Allow","Action":"lambda:*","Resource":"arn:aws:lambda:us-east-1:111111111111:function:f?"}`)}, want: ImplicitDeny},
		{name: "Resource * for an action without resource", principal: alice, action: "lambda:ListFunctions", resource: "*", identity: []string{doc(allowLambda)}, want: Allow},
		{name: "specific Resource for an action without resource", principal: alice, action: "lambda:ListFunctions", resource: "*", identity: []string{doc(`{"Effect":"Allow","Action":"lambda:*","Resource":"arn:aws:lambda:*:*:function:*"}`)}, want: ImplicitDeny},
		{name: "Resource with a variable", principal: alice, resource: "arn:aws:lambda:us-east-1:" + acctA + ":function:alice-f", identity: []string{doc(`{"Effect":"Allow","Action":"lambda:*","Resource":"arn:aws:lambda:*:*:function:${aws:username}-*"}`)}, want: Allow},
		{name: "Resource with a variable, other user", principal: alice, resource: "arn:aws:lambda:us-east-1:" + acctA + ":function:bob-f", identity: []string{doc(`{"Effect":"Allow","Action":"lambda:*","Resource":"arn:aws:lambda:*:*:function:${aws:username}-*"}`)}, want: ImplicitDeny},
		{name: "Resource variable unresolvable", principal: session, resource: "arn:aws:lambda:us-east-1:" + acctA + ":function:-f", identity: []string{doc(`{"Effect":"Allow","Action":"lambda:*","Resource":"arn:aws:lambda:*:*:function:${aws:username}-*"}`)}, want: ImplicitDeny},
		{name: "NotResource with unresolvable variable does not apply", principal: session, identity: []string{doc(allowAll, `{"Effect":"Deny","Action":"*","NotResource":"arn:aws:lambda:*:*:function:${aws:PrincipalTag/fn}"}`)}, want: Allow},
		{name: "NotResource with resolved variable applies", principal: session, ctx: kv{"aws:PrincipalTag/fn": {"other"}}, identity: []string{doc(allowAll, `{"Effect":"Deny","Action":"*","NotResource":"arn:aws:lambda:*:*:function:${aws:PrincipalTag/fn}"}`)}, want: ExplicitDeny},
		{name: "Version 2008 Resource variable is literal", principal: alice, resource: "arn:aws:s3:::b/${aws:username}", action: "s3:GetObject", identity: []string{`{"Version":"2008-10-17","Statement":{"Effect":"Allow","Action":"s3:*","Resource":"arn:aws:s3:::b/${aws:username}"}}`}, want: Allow},

		// Permissions boundaries.
		{name: "boundary allows", principal: alice, identity: []string{doc(allowAll)}, boundary: doc(allowLambda), want: Allow},
		{name: "boundary does not allow", principal: alice, identity: []string{doc(allowAll)}, boundary: doc(allowS3), want: ImplicitDeny, reason: reasonNoBound},
		{name: "boundary denies", principal: alice, identity: []string{doc(allowAll)}, boundary: doc(allowAll, denyLambda), want: ExplicitDeny, reason: "with an explicit deny in a permissions boundary"},
		{name: "boundary alone grants nothing", principal: alice, boundary: doc(allowAll), want: ImplicitDeny, reason: reasonNoID},

		// Session policies.
		{name: "session policy allows", principal: session, identity: []string{doc(allowAll)}, session: []string{doc(allowGet)}, want: Allow},
		{name: "session policy does not allow", principal: session, identity: []string{doc(allowAll)}, session: []string{doc(allowS3)}, want: ImplicitDeny, reason: reasonNoSess},
		{name: "session policy denies", principal: session, identity: []string{doc(allowAll)}, session: []string{doc(allowAll, denyLambda)}, want: ExplicitDeny, reason: "with an explicit deny in a session policy"},
		{name: "session policies are a union", principal: session, identity: []string{doc(allowAll)}, session: []string{doc(allowS3), doc(allowGet)}, want: Allow},
		{name: "session policy alone grants nothing", principal: session, session: []string{doc(allowAll)}, want: ImplicitDeny, reason: reasonNoID},
		{name: "boundary checked before session policy", principal: session, identity: []string{doc(allowAll)}, boundary: doc(allowS3), session: []string{doc(allowS3)}, want: ImplicitDeny, reason: reasonNoBound},

		// Guardrails.
		{name: "guardrail allows", principal: alice, identity: []string{doc(allowAll)}, guardrails: []string{doc(allowAll)}, want: Allow},
		{name: "guardrail does not allow", principal: alice, identity: []string{doc(allowAll)}, guardrails: []string{doc(allowS3)}, want: ImplicitDeny, reason: reasonNoSCP},
		{name: "guardrail denies", principal: alice, identity: []string{doc(allowAll)}, guardrails: []string{doc(allowAll, denyLambda)}, want: ExplicitDeny, reason: "with an explicit deny in a service control policy"},
		{name: "one allowing guardrail suffices", principal: alice, identity: []string{doc(allowAll)}, guardrails: []string{doc(allowS3), doc(allowLambda)}, want: Allow},
		{name: "allow-all guardrail with a deny-list guardrail", principal: alice, identity: []string{doc(allowAll)}, guardrails: []string{doc(allowAll), doc(`{"Effect":"Deny","Action":"iam:*","Resource":"*"}`)}, want: Allow},
		{name: "deny-list guardrail alone allows nothing", principal: alice, identity: []string{doc(allowAll)}, guardrails: []string{doc(`{"Effect":"Deny","Action":"iam:*","Resource":"*"}`)}, want: ImplicitDeny, reason: reasonNoSCP},
		{name: "no guardrail allows", principal: alice, identity: []string{doc(allowAll)}, guardrails: []string{doc(allowS3), doc(`{"Effect":"Allow","Action":"iam:*","Resource":"*"}`)}, want: ImplicitDeny, reason: reasonNoSCP},
		{name: "guardrail allow grants nothing alone", principal: alice, guardrails: []string{doc(allowAll)}, want: ImplicitDeny, reason: reasonNoID},
		{name: "guardrail deny is reported first", principal: alice, identity: []string{doc(allowAll, denyLambda)}, guardrails: []string{doc(allowAll, denyLambda)}, want: ExplicitDeny, reason: "with an explicit deny in a service control policy"},
		{name: "guardrail with a condition", principal: alice, ctx: kv{"aws:RequestedRegion": {"eu-west-1"}}, identity: []string{doc(allowAll)}, guardrails: []string{doc(allowAll, `{"Effect":"Deny","Action":"*","Resource":"*","Condition":{"StringNotEquals":{"aws:RequestedRegion":"us-east-1"}}}`)}, want: ExplicitDeny},
		{name: "guardrail deny beats a resource grant", principal: alice, resPolicy: doc(grantTo(`"*"`)), guardrails: []string{doc(allowAll, denyLambda)}, want: ExplicitDeny},

		// The root user.
		{name: "root in its account needs no policy", principal: rootA, want: Allow},
		{name: "root is subject to guardrail deny", principal: rootA, guardrails: []string{doc(allowAll, denyLambda)}, want: ExplicitDeny, reason: "with an explicit deny in a service control policy"},
		{name: "root needs a guardrail allow", principal: rootA, guardrails: []string{doc(allowS3)}, want: ImplicitDeny, reason: reasonNoSCP},
		{name: "root is subject to resource policy deny", principal: rootA, resPolicy: doc(`{"Effect":"Deny","Principal":"*","Action":"lambda:*","Resource":"*"}`), want: ExplicitDeny, reason: "with an explicit deny in a resource-based policy"},
		{name: "root of another account needs the resource policy", principal: rootB, resAccount: acctA, want: ImplicitDeny, reason: reasonNoRes},
		{name: "root of another account with an account grant", principal: rootB, resAccount: acctA, resPolicy: doc(grantTo(`{"AWS":"222222222222"}`)), want: Allow},
		{name: "root of another account with a root-ARN grant", principal: rootB, resAccount: acctA, resPolicy: doc(grantTo(`{"AWS":"arn:aws:iam::222222222222:root"}`)), want: Allow},

		// Same-account resource-based policies.
		{name: "resource policy grants the user", principal: alice, resAccount: acctA, resPolicy: doc(grantTo(`{"AWS":"arn:aws:iam::111111111111:user/dev/alice"}`)), want: Allow},
		{name: "user grant is not limited by the boundary", principal: alice, resAccount: acctA, resPolicy: doc(grantTo(`{"AWS":"arn:aws:iam::111111111111:user/dev/alice"}`)), boundary: doc(allowS3), want: Allow},
		{name: "account grant delegates to identity policies", principal: alice, resAccount: acctA, resPolicy: doc(grantTo(`{"AWS":"111111111111"}`)), want: ImplicitDeny, reason: reasonNoID},
		{name: "account grant with identity allow", principal: alice, resAccount: acctA, resPolicy: doc(grantTo(`{"AWS":"111111111111"}`)), identity: []string{doc(allowGet)}, want: Allow},
		{name: "grant to everyone", principal: alice, resAccount: acctA, resPolicy: doc(grantTo(`"*"`)), want: Allow},
		{name: "grant to AWS *", principal: alice, resAccount: acctA, resPolicy: doc(grantTo(`{"AWS":"*"}`)), want: Allow},
		{name: "grant to another user", principal: alice, resAccount: acctA, resPolicy: doc(grantTo(`{"AWS":"arn:aws:iam::111111111111:user/carol"}`)), want: ImplicitDeny, reason: reasonNoID},
		{name: "grant for another action", principal: alice, action: "lambda:DeleteFunction", resAccount: acctA, resPolicy: doc(grantTo(`"*"`)), want: ImplicitDeny},
		{name: "grant for another resource", principal: alice, resource: fnA + "2", resAccount: acctA, resPolicy: doc(grantTo(`"*"`)), want: ImplicitDeny},
		{name: "role grant reaches its sessions", principal: session, resAccount: acctA, resPolicy: doc(grantTo(`{"AWS":"arn:aws:iam::111111111111:role/app/r"}`)), want: Allow},
		{name: "role grant is limited by the boundary", principal: session, resAccount: acctA, resPolicy: doc(grantTo(`{"AWS":"arn:aws:iam::111111111111:role/app/r"}`)), boundary: doc(allowS3), want: ImplicitDeny, reason: reasonNoBound},
		{name: "role grant is limited by session policies", principal: session, resAccount: acctA, resPolicy: doc(grantTo(`{"AWS":"arn:aws:iam::111111111111:role/app/r"}`)), session: []string{doc(allowS3)}, want: ImplicitDeny, reason: reasonNoSess},
		{name: "role grant within boundary and session policy", principal: session, resAccount: acctA, resPolicy: doc(grantTo(`{"AWS":"arn:aws:iam::111111111111:role/app/r"}`)), boundary: doc(allowLambda), session: []string{doc(allowGet)}, want: Allow},
		{name: "session grant is not limited by boundary or session policies", principal: session, resAccount: acctA, resPolicy: doc(grantTo(`{"AWS":"arn:aws:sts::111111111111:assumed-role/r/s1"}`)), boundary: doc(allowS3), session: []string{doc(allowS3)}, want: Allow},
		{name: "grant to another session of the role", principal: session, resAccount: acctA, resPolicy: doc(grantTo(`{"AWS":"arn:aws:sts::111111111111:assumed-role/r/other"}`)), want: ImplicitDeny},
		{name: "resource deny by role ARN reaches sessions", principal: session, resAccount: acctA, identity: []string{doc(allowAll)}, resPolicy: doc(`{"Effect":"Deny","Principal":{"AWS":"arn:aws:iam::111111111111:role/app/r"},"Action":"lambda:*","Resource":"*"}`), want: ExplicitDeny, reason: "with an explicit deny in a resource-based policy"},
		{name: "resource deny by account reaches users", principal: alice, resAccount: acctA, identity: []string{doc(allowAll)}, resPolicy: doc(`{"Effect":"Deny","Principal":{"AWS":"111111111111"},"Action":"lambda:*","Resource":"*"}`), want: ExplicitDeny},
		{name: "resource deny for another principal", principal: alice, resAccount: acctA, identity: []string{doc(allowAll)}, resPolicy: doc(`{"Effect":"Deny","Principal":{"AWS":"222222222222"},"Action":"lambda:*","Resource":"*"}`), want: Allow},
		{name: "identity deny beats a resource grant", principal: alice, resAccount: acctA, identity: []string{doc(denyLambda)}, resPolicy: doc(grantTo(`"*"`)), want: ExplicitDeny, reason: "with an explicit deny in an identity-based policy"},
		{name: "empty ResourceAccount is the caller's account", principal: alice, resPolicy: doc(grantTo(`{"AWS":"arn:aws:iam::111111111111:user/dev/alice"}`)), want: Allow},
		{name: "federated user session grant", principal: fedUser, resAccount: acctA, resPolicy: doc(grantTo(`{"AWS":"arn:aws:sts::111111111111:federated-user/fed"}`)), boundary: doc(allowS3), want: Allow},
		{name: "grant to the user behind a federated session is limited by session policy", principal: fedUser, resAccount: acctA, resPolicy: doc(grantTo(`{"AWS":"arn:aws:iam::111111111111:user/dev/alice"}`)), session: []string{doc(allowS3)}, want: ImplicitDeny, reason: reasonNoSess},

		// Cross-account requests.
		{name: "cross-account: both sides allow", principal: bob, resAccount: acctA, identity: []string{doc(allowGet)}, resPolicy: doc(grantTo(`{"AWS":"arn:aws:iam::222222222222:user/bob"}`)), want: Allow},
		{name: "cross-account: no resource policy", principal: bob, resAccount: acctA, identity: []string{doc(allowGet)}, want: ImplicitDeny, reason: reasonNoRes},
		{name: "cross-account: account grant", principal: bob, resAccount: acctA, identity: []string{doc(allowGet)}, resPolicy: doc(grantTo(`{"AWS":"222222222222"}`)), want: Allow},
		{name: "cross-account: grant without identity allow", principal: bob, resAccount: acctA, resPolicy: doc(grantTo(`{"AWS":"arn:aws:iam::222222222222:user/bob"}`)), want: ImplicitDeny, reason: reasonNoID},
		{name: "cross-account: grant to everyone still needs identity", principal: bob, resAccount: acctA, resPolicy: doc(grantTo(`"*"`)), want: ImplicitDeny, reason: reasonNoID},
		{name: "cross-account: grant to everyone with identity", principal: bob, resAccount: acctA, identity: []string{doc(allowGet)}, resPolicy: doc(grantTo(`"*"`)), want: Allow},
		{name: "cross-account: boundary still applies", principal: bob, resAccount: acctA, identity: []string{doc(allowGet)}, boundary: doc(allowS3), resPolicy: doc(grantTo(`{"AWS":"arn:aws:iam::222222222222:user/bob"}`)), want: ImplicitDeny, reason: reasonNoBound},
		{name: "cross-account: grant to another account", principal: bob, resAccount: acctA, identity: []string{doc(allowGet)}, resPolicy: doc(grantTo(`{"AWS":"333333333333"}`)), want: ImplicitDeny, reason: reasonNoRes},
		{name: "cross-account: session ARN grant still needs identity", principal: sessionB, resAccount: acctA, resPolicy: doc(grantTo(`{"AWS":"arn:aws:sts::222222222222:assumed-role/rb/s"}`)), want: ImplicitDeny, reason: reasonNoID},
		{name: "cross-account: role grant with identity and session policy", principal: sessionB, resAccount: acctA, identity: []string{doc(allowAll)}, session: []string{doc(allowGet)}, resPolicy: doc(grantTo(`{"AWS":"arn:aws:iam::222222222222:role/rb"}`)), want: Allow},
		{name: "cross-account: guardrail of the caller", principal: bob, resAccount: acctA, identity: []string{doc(allowGet)}, resPolicy: doc(grantTo(`"*"`)), guardrails: []string{doc(allowS3)}, want: ImplicitDeny, reason: reasonNoSCP},

		// Service principals.
		{name: "service with source conditions", principal: s3svc, action: "lambda:InvokeFunction", ctx: kv{"aws:SourceAccount": {acctA}, "aws:SourceArn": {"arn:aws:s3:::bucket"}}, resAccount: acctA,
			resPolicy: doc(`{"Effect":"Allow","Principal":{"Service":"s3.amazonaws.com"},"Action":"lambda:InvokeFunction","Resource":"` + fnA + `","Condition":{"StringEquals":{"AWS:SourceAccount":"111111111111"},"ArnLike":{"AWS:SourceArn":"arn:aws:s3:::bucket"}}}`), want: Allow},
		{name: "service from another source account", principal: s3svc, action: "lambda:InvokeFunction", ctx: kv{"aws:SourceAccount": {acctB}, "aws:SourceArn": {"arn:aws:s3:::bucket"}}, resAccount: acctA,
			resPolicy: doc(`{"Effect":"Allow","Principal":{"Service":"s3.amazonaws.com"},"Action":"lambda:InvokeFunction","Resource":"` + fnA + `","Condition":{"StringEquals":{"AWS:SourceAccount":"111111111111"},"ArnLike":{"AWS:SourceArn":"arn:aws:s3:::bucket"}}}`), want: ImplicitDeny, reason: "because no resource-based policy allows the lambda:InvokeFunction action"},
		{name: "service without SourceArn", principal: s3svc, action: "lambda:InvokeFunction", ctx: kv{"aws:SourceAccount": {acctA}}, resAccount: acctA,
			resPolicy: doc(`{"Effect":"Allow","Principal":{"Service":"s3.amazonaws.com"},"Action":"lambda:InvokeFunction","Resource":"` + fnA + `","Condition":{"ArnLike":{"AWS:SourceArn":"arn:aws:s3:::bucket"}}}`), want: ImplicitDeny},
		{name: "other service", principal: Principal{Type: TypeService, Service: "events.amazonaws.com"}, action: "lambda:InvokeFunction", resAccount: acctA,
			resPolicy: doc(`{"Effect":"Allow","Principal":{"Service":"s3.amazonaws.com"},"Action":"lambda:InvokeFunction","Resource":"` + fnA + `"}`), want: ImplicitDeny},
		{name: "service names match case-insensitively", principal: Principal{Type: TypeService, Service: "S3.AmazonAWS.com"}, action: "lambda:InvokeFunction", resAccount: acctA,
			resPolicy: doc(`{"Effect":"Allow","Principal":{"Service":"s3.amazonaws.com"},"Action":"lambda:InvokeFunction","Resource":"` + fnA + `"}`), want: Allow},
		{name: "service identity policies are ignored", principal: s3svc, identity: []string{doc(allowAll)}, resAccount: acctA, want: ImplicitDeny, reason: reasonNoRes},
		{name: "service is not an account", principal: s3svc, resAccount: acctA, resPolicy: doc(grantTo(`{"AWS":"111111111111"}`)), want: ImplicitDeny},
		{name: "aws:PrincipalServiceName", principal: s3svc, resAccount: acctA, resPolicy: doc(`{"Effect":"Allow","Principal":"*","Action":"lambda:*","Resource":"*","Condition":{"StringEquals":{"aws:PrincipalServiceName":"s3.amazonaws.com"}}}`), want: Allow},

		// Anonymous callers and web identities.
		{name: "anonymous with grant to everyone", principal: anon, resAccount: acctA, resPolicy: doc(grantTo(`"*"`)), want: Allow},
		{name: "anonymous with AWS * grant", principal: anon, resAccount: acctA, resPolicy: doc(grantTo(`{"AWS":"*"}`)), want: Allow},
		{name: "anonymous without grant", principal: anon, resAccount: acctA, resPolicy: doc(grantTo(`{"AWS":"111111111111"}`)), want: ImplicitDeny, reason: reasonNoRes},
		{name: "web identity trusted by provider", principal: webID, action: "sts:AssumeRoleWithWebIdentity", resource: "arn:aws:iam::" + acctA + ":role/web", resAccount: acctA, ctx: kv{"cognito-identity.amazonaws.com:aud": {"pool-1"}},
			resKind: Trust, resPolicy: doc(`{"Effect":"Allow","Principal":{"Federated":"cognito-identity.amazonaws.com"},"Action":"sts:AssumeRoleWithWebIdentity","Condition":{"StringEquals":{"cognito-identity.amazonaws.com:aud":"pool-1"}}}`), want: Allow},
		{name: "web identity with wrong audience", principal: webID, action: "sts:AssumeRoleWithWebIdentity", resource: "arn:aws:iam::" + acctA + ":role/web", resAccount: acctA, ctx: kv{"cognito-identity.amazonaws.com:aud": {"pool-2"}},
			resKind: Trust, resPolicy: doc(`{"Effect":"Allow","Principal":{"Federated":"cognito-identity.amazonaws.com"},"Action":"sts:AssumeRoleWithWebIdentity","Condition":{"StringEquals":{"cognito-identity.amazonaws.com:aud":"pool-1"}}}`), want: ImplicitDeny},

		// NotPrincipal.
		{name: "NotPrincipal deny exempts a user listed with its account", principal: alice, resAccount: acctA, identity: []string{doc(allowAll)},
			resPolicy: doc(`{"Effect":"Deny","NotPrincipal":{"AWS":["arn:aws:iam::111111111111:user/dev/alice","111111111111"]},"Action":"lambda:*","Resource":"*"}`), want: Allow},
		{name: "NotPrincipal deny hits everyone else", principal: Principal{Type: TypeUser, ARN: "arn:aws:iam::" + acctA + ":user/carol", Account: acctA}, resAccount: acctA, identity: []string{doc(allowAll)},
			resPolicy: doc(`{"Effect":"Deny","NotPrincipal":{"AWS":["arn:aws:iam::111111111111:user/dev/alice","111111111111"]},"Action":"lambda:*","Resource":"*"}`), want: ExplicitDeny},
		{name: "NotPrincipal deny needs the account listed too", principal: alice, resAccount: acctA, identity: []string{doc(allowAll)},
			resPolicy: doc(`{"Effect":"Deny","NotPrincipal":{"AWS":"arn:aws:iam::111111111111:user/dev/alice"},"Action":"lambda:*","Resource":"*"}`), want: ExplicitDeny},
		{name: "NotPrincipal deny exempts a session listed with role and account", principal: session, resAccount: acctA, identity: []string{doc(allowAll)},
			resPolicy: doc(`{"Effect":"Deny","NotPrincipal":{"AWS":["arn:aws:sts::111111111111:assumed-role/r/s1","arn:aws:iam::111111111111:role/app/r","arn:aws:iam::111111111111:root"]},"Action":"lambda:*","Resource":"*"}`), want: Allow},
		{name: "NotPrincipal deny of a session without the role listed", principal: session, resAccount: acctA, identity: []string{doc(allowAll)},
			resPolicy: doc(`{"Effect":"Deny","NotPrincipal":{"AWS":["arn:aws:sts::111111111111:assumed-role/r/s1","111111111111"]},"Action":"lambda:*","Resource":"*"}`), want: ExplicitDeny},
		{name: "NotPrincipal deny exempts a service", principal: s3svc, resAccount: acctA,
			resPolicy: doc(grantTo(`"*"`), `{"Effect":"Deny","NotPrincipal":{"Service":"s3.amazonaws.com"},"Action":"lambda:*","Resource":"*"}`), want: Allow},
		{name: "NotPrincipal * applies to nobody", principal: alice, resAccount: acctA, identity: []string{doc(allowAll)},
			resPolicy: doc(`{"Effect":"Deny","NotPrincipal":"*","Action":"lambda:*","Resource":"*"}`), want: Allow},
		{name: "NotPrincipal allow grants others", principal: bob, resAccount: acctA, identity: []string{doc(allowAll)},
			resPolicy: doc(`{"Effect":"Allow","NotPrincipal":{"AWS":"arn:aws:iam::111111111111:user/carol"},"Action":"lambda:*","Resource":"*"}`), want: Allow},

		// Trust policies decided by Evaluate.
		{name: "trust policy naming the user", principal: alice, action: "sts:AssumeRole", resource: "arn:aws:iam::" + acctA + ":role/r", resAccount: acctA, resKind: Trust,
			resPolicy: doc(`{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111111111111:user/dev/alice"},"Action":"sts:AssumeRole"}`), want: Allow},
		{name: "trust policy naming the account needs identity", principal: alice, action: "sts:AssumeRole", resource: "arn:aws:iam::" + acctA + ":role/r", resAccount: acctA, resKind: Trust,
			resPolicy: doc(`{"Effect":"Allow","Principal":{"AWS":"111111111111"},"Action":"sts:AssumeRole"}`), want: ImplicitDeny, reason: "because no identity-based policy allows the sts:AssumeRole action"},
		{name: "trust policy not naming the caller beats an identity allow", principal: alice, action: "sts:AssumeRole", resource: "arn:aws:iam::" + acctA + ":role/r", resAccount: acctA, resKind: Trust,
			identity:  []string{doc(allowAll)},
			resPolicy: doc(`{"Effect":"Allow","Principal":{"Service":"lambda.amazonaws.com"},"Action":"sts:AssumeRole"}`), want: ImplicitDeny, reason: "because no resource-based policy allows the sts:AssumeRole action"},
		{name: "trust policy not naming the root user", principal: rootA, action: "sts:AssumeRole", resource: "arn:aws:iam::" + acctA + ":role/r", resAccount: acctA, resKind: Trust,
			resPolicy: doc(`{"Effect":"Allow","Principal":{"Service":"lambda.amazonaws.com"},"Action":"sts:AssumeRole"}`), want: ImplicitDeny, reason: "because no resource-based policy allows the sts:AssumeRole action"},
		{name: "trust policy naming the role of a session", principal: session, action: "sts:AssumeRole", resource: "arn:aws:iam::" + acctA + ":role/t", resAccount: acctA, resKind: Trust,
			resPolicy: doc(`{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111111111111:role/app/r"},"Action":"sts:AssumeRole"}`), want: Allow},
		{name: "cross-account trust with identity allow", principal: bob, action: "sts:AssumeRole", resource: "arn:aws:iam::" + acctA + ":role/r", resAccount: acctA, resKind: Trust,
			identity:  []string{doc(`{"Effect":"Allow","Action":"sts:AssumeRole","Resource":"arn:aws:iam::111111111111:role/*"}`)},
			resPolicy: doc(`{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::222222222222:root"},"Action":"sts:AssumeRole","Condition":{"StringEquals":{"sts:ExternalId":"x1"}}}`), ctx: kv{"sts:ExternalId": {"x1"}}, want: Allow},
		{name: "cross-account trust with wrong external ID", principal: bob, action: "sts:AssumeRole", resource: "arn:aws:iam::" + acctA + ":role/r", resAccount: acctA, resKind: Trust,
			identity:  []string{doc(`{"Effect":"Allow","Action":"sts:AssumeRole","Resource":"arn:aws:iam::111111111111:role/*"}`)},
			resPolicy: doc(`{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::222222222222:root"},"Action":"sts:AssumeRole","Condition":{"StringEquals":{"sts:ExternalId":"x1"}}}`), ctx: kv{"sts:ExternalId": {"x2"}}, want: ImplicitDeny, reason: "because no resource-based policy allows the sts:AssumeRole action"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := Input{
				Request:         Request{Principal: tt.principal, Action: tt.action, Resource: tt.resource, Context: tt.ctx.context()},
				ResourceAccount: tt.resAccount,
			}
			if in.Request.Action == "" {
				in.Request.Action = "lambda:GetFunction"
			}
			if in.Request.Resource == "" {
				in.Request.Resource = fnA
			}
			parse := func(d string, k Kind) *Policy {
				t.Helper()
				p, err := Parse([]byte(d), k)
				if err != nil {
					t.Fatalf("Parse %s: %v", d, err)
				}
				return p
			}
			for _, d := range tt.identity {
				in.Identity = append(in.Identity, parse(d, Identity))
			}
			if tt.resPolicy != "" {
				k := tt.resKind
				if k == 0 {
					k = Resource
				}
				in.Resource = parse(tt.resPolicy, k)
			}
			if tt.boundary != "" {
				in.Boundary = parse(tt.boundary, Identity)
			}
			for _, d := range tt.session {
				in.Session = append(in.Session, parse(d, Session))
			}
			for _, d := range tt.guardrails {
				in.Guardrails = append(in.Guardrails, parse(d, Guardrail))
			}
			r := Evaluate(in)
			if r.Decision != tt.want {
				t.Fatalf("Decision = %v, want %v (%s)", r.Decision, tt.want, r.Reason)
			}
			if tt.reason != "" && r.Reason != tt.reason {
				t.Errorf("Reason = %q, want %q", r.Reason, tt.reason)
			}
			if (r.Decision == Allow) != (r.Reason == "") {
				t.Errorf("Reason %q does not fit decision %v", r.Reason, r.Decision)
			}
			if r.Decision == ImplicitDeny && len(r.Matched) != 0 {
				t.Errorf("implicit deny lists statements: %v", r.Matched)
			}
			if r.Decision == ExplicitDeny && len(r.Matched) == 0 {
				t.Error("explicit deny lists no statements")
			}
		})
	}
}

func TestEvaluateInvalidInput(t *testing.T) {
	id, _ := Parse([]byte(doc(allowAll)), Identity)
	res, _ := Parse([]byte(doc(grantTo(`"*"`))), Resource)
	req := Request{Principal: alice, Action: "lambda:GetFunction", Resource: fnA}
	tests := []struct {
		name string
		in   Input
	}{
		{"nil identity policy", Input{Request: req, Identity: []*Policy{id, nil}}},
		{"resource policy in the identity slot", Input{Request: req, Identity: []*Policy{res}}},
		{"identity policy in the resource slot", Input{Request: req, Resource: id}},
		{"resource policy as boundary", Input{Request: req, Identity: []*Policy{id}, Boundary: res}},
		{"resource policy as session policy", Input{Request: req, Identity: []*Policy{id}, Session: []*Policy{res}}},
		{"nil guardrail", Input{Request: req, Identity: []*Policy{id}, Guardrails: []*Policy{nil}}},
		{"unknown principal type", Input{Request: Request{Principal: Principal{Type: "Robot", ARN: alice.ARN, Account: acctA}, Action: "lambda:GetFunction", Resource: fnA}, Identity: []*Policy{id}}},
		{"user without an account", Input{Request: Request{Principal: Principal{Type: TypeUser, ARN: alice.ARN}, Action: "lambda:GetFunction", Resource: fnA}, Identity: []*Policy{id}}},
		{"root without an account", Input{Request: Request{Principal: Principal{Type: TypeRoot, ARN: rootA.ARN}, Action: "lambda:GetFunction", Resource: fnA}}},
		{"service without a name", Input{Request: Request{Principal: Principal{Type: TypeService}, Action: "lambda:GetFunction", Resource: fnA}, Resource: res}},
		{"web identity without a provider", Input{Request: Request{Principal: Principal{Type: TypeWebIdentity}, Action: "lambda:GetFunction", Resource: fnA}, Resource: res}},
		{"zero principal", Input{Request: Request{Action: "lambda:GetFunction", Resource: fnA}, Identity: []*Policy{id}, Resource: res}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := Evaluate(tt.in)
			if r.Decision != ImplicitDeny || r.Reason != reasonInvalid {
				t.Errorf("Evaluate = %v %q, want implicit deny %q", r.Decision, r.Reason, reasonInvalid)
			}
		})
	}
	var zero Result
	if zero.Allowed() || zero.Decision != ImplicitDeny {
		t.Error("the zero Result allows")
	}
}

func TestCheck(t *testing.T) {
	trust, err := Parse([]byte(doc(`{"Effect":"Allow","Principal":{"Service":"lambda.amazonaws.com"},"Action":"sts:AssumeRole"}`)), Trust)
	if err != nil {
		t.Fatal(err)
	}
	id, err := Parse([]byte(doc(allowGet, `{"Sid":"NoDelete","Effect":"Deny","Action":"lambda:DeleteFunction","Resource":"*"}`)), Identity)
	if err != nil {
		t.Fatal(err)
	}
	bnd, err := Parse([]byte(doc(allowS3)), Boundary)
	if err != nil {
		t.Fatal(err)
	}
	lambdaSvc := Principal{Type: TypeService, Service: "lambda.amazonaws.com"}
	tests := []struct {
		name   string
		p      *Policy
		req    Request
		want   Decision
		reason string
		sid    string
	}{
		{"trust allows the service", trust, Request{Principal: lambdaSvc, Action: "sts:AssumeRole", Resource: "arn:aws:iam::" + acctA + ":role/r"}, Allow, "", ""},
		{"trust does not name the user", trust, Request{Principal: alice, Action: "sts:AssumeRole", Resource: "arn:aws:iam::" + acctA + ":role/r"}, ImplicitDeny, "because no resource-based policy allows the sts:AssumeRole action", ""},
		{"identity allow", id, Request{Principal: alice, Action: "lambda:GetFunction", Resource: fnA}, Allow, "", "Get"},
		{"identity deny", id, Request{Principal: alice, Action: "lambda:DeleteFunction", Resource: fnA}, ExplicitDeny, "with an explicit deny in an identity-based policy", "NoDelete"},
		{"identity implicit", id, Request{Principal: alice, Action: "lambda:ListFunctions", Resource: "*"}, ImplicitDeny, "because no identity-based policy allows the lambda:ListFunctions action", ""},
		{"boundary implicit", bnd, Request{Principal: alice, Action: "lambda:GetFunction", Resource: fnA}, ImplicitDeny, reasonNoBound, ""},
		{"invalid principal", id, Request{Action: "lambda:GetFunction", Resource: fnA}, ImplicitDeny, reasonInvalid, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := tt.p.Check(tt.req)
			if r.Decision != tt.want || r.Reason != tt.reason {
				t.Fatalf("Check = %v %q, want %v %q", r.Decision, r.Reason, tt.want, tt.reason)
			}
			if tt.sid != "" && (len(r.Matched) != 1 || r.Matched[0].Sid != tt.sid || r.Matched[0].Policy != tt.p) {
				t.Errorf("Matched = %+v, want the statement %q", r.Matched, tt.sid)
			}
		})
	}
	var nilPolicy *Policy
	if r := nilPolicy.Check(Request{Principal: alice}); r.Decision != ImplicitDeny {
		t.Errorf("nil policy Check = %v", r.Decision)
	}
}

func TestMatched(t *testing.T) {
	id1, _ := Parse([]byte(doc(allowGet)), Identity)
	id2, _ := Parse([]byte(doc(`{"Sid":"Lambda","Effect":"Allow","Action":"lambda:*","Resource":"*"}`, allowS3)), Identity)
	bnd, _ := Parse([]byte(doc(`{"Sid":"B","Effect":"Allow","Action":"*","Resource":"*"}`)), Identity)
	res, _ := Parse([]byte(doc(grantTo(`{"AWS":"111111111111"}`))), Resource)
	req := Request{Principal: alice, Action: "lambda:GetFunction", Resource: fnA}
	r := Evaluate(Input{Request: req, Identity: []*Policy{id1, id2}, Boundary: bnd, Resource: res, ResourceAccount: acctA})
	if r.Decision != Allow {
		t.Fatalf("Decision = %v", r.Decision)
	}
	want := []StatementRef{
		{Kind: Identity, Policy: id1, Index: 0, Sid: "Get"},
		{Kind: Identity, Policy: id2, Index: 0, Sid: "Lambda"},
		{Kind: Boundary, Policy: bnd, Index: 0, Sid: "B"},
	}
	if len(r.Matched) != len(want) {
		t.Fatalf("Matched = %+v, want %+v", r.Matched, want)
	}
	for i := range want {
		if r.Matched[i] != want[i] {
			t.Errorf("Matched[%d] = %+v, want %+v", i, r.Matched[i], want[i])
		}
	}

	deny, _ := Parse([]byte(doc(allowAll, denyLambda, `{"Effect":"Deny","Action":"lambda:Get*","Resource":"*"}`)), Identity)
	r = Evaluate(Input{Request: req, Identity: []*Policy{deny}})
	if r.Decision != ExplicitDeny || len(r.Matched) != 2 || r.Matched[0].Index != 1 || r.Matched[1].Index != 2 {
		t.Errorf("deny Matched = %+v", r.Matched)
	}
}

func TestMessage(t *testing.T) {
	tests := []struct {
		name string
		req  Request
		res  Result
		want string
	}{
		{"allowed", Request{Principal: alice, Action: "lambda:GetFunction", Resource: fnA}, Result{Decision: Allow}, ""},
		{"user", Request{Principal: alice, Action: "lambda:GetFunction", Resource: fnA}, Result{Decision: ImplicitDeny, Reason: reasonNoID},
			"User: arn:aws:iam::111111111111:user/dev/alice is not authorized to perform: lambda:GetFunction on resource: " + fnA + " because no identity-based policy allows the lambda:GetFunction action"},
		{"no resource", Request{Principal: alice, Action: "lambda:ListFunctions"}, Result{Decision: ExplicitDeny, Reason: "with an explicit deny in an identity-based policy"},
			"User: arn:aws:iam::111111111111:user/dev/alice is not authorized to perform: lambda:ListFunctions on resource: * with an explicit deny in an identity-based policy"},
		{"anonymous", Request{Principal: anon, Action: "lambda:InvokeFunctionUrl", Resource: fnA}, Result{Reason: "because no resource-based policy allows the lambda:InvokeFunctionUrl action"},
			"User: anonymous is not authorized to perform: lambda:InvokeFunctionUrl on resource: " + fnA + " because no resource-based policy allows the lambda:InvokeFunctionUrl action"},
		{"service", Request{Principal: s3svc, Action: "lambda:InvokeFunction", Resource: fnA}, Result{Reason: "x"},
			"User: s3.amazonaws.com is not authorized to perform: lambda:InvokeFunction on resource: " + fnA + " x"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.res.Message(tt.req); got != tt.want {
				t.Errorf("Message =\n%q\nwant\n%q", got, tt.want)
			}
		})
	}
}

// TestEvaluateConcurrent shares parsed policies and a request context
// between goroutines; under -race it shows evaluation only reads them.
func TestEvaluateConcurrent(t *testing.T) {
	id, err := Parse([]byte(doc(allowGet, `{"Effect":"Allow","Action":"lambda:*","Resource":"arn:aws:lambda:*:*:function:${aws:username}-*","Condition":{"IpAddress":{"aws:SourceIp":"10.0.0.0/8"}}}`)), Identity)
	if err != nil {
		t.Fatal(err)
	}
	res, err := Parse([]byte(doc(grantTo(`{"AWS":"222222222222"}`))), Resource)
	if err != nil {
		t.Fatal(err)
	}
	req := Request{Principal: alice, Action: "lambda:GetFunction", Resource: fnA}
	req.Context.Set("aws:SourceIp", "10.0.0.1")
	in := Input{Request: req, Identity: []*Policy{id}, Resource: res, ResourceAccount: acctA}
	errs := make(chan string, 8)
	for range 8 {
		go func() {
			for range 200 {
				if r := Evaluate(in); r.Decision != Allow {
					errs <- r.Reason
					return
				}
			}
			errs <- ""
		}()
	}
	for range 8 {
		if e := <-errs; e != "" {
			t.Fatalf("concurrent Evaluate denied: %s", e)
		}
	}
}
