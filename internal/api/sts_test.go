package api_test

import (
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	iamsdk "github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	stssdk "github.com/aws/aws-sdk-go-v2/service/sts"
	ststypes "github.com/aws/aws-sdk-go-v2/service/sts/types"
)

func iamSessionCreds(c *ststypes.Credentials) iamCreds {
	return iamCreds{aws.ToString(c.AccessKeyId), aws.ToString(c.SecretAccessKey), aws.ToString(c.SessionToken)}
}

func TestSTS(t *testing.T) {
	t.Parallel()
	e := newIAMEnv(t, "")
	A := e.mgmt
	root := e.iam(e.rootCreds())
	trust := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::` + A + `:root"},"Action":["sts:AssumeRole","sts:TagSession"]}]}`
	if _, err := root.CreateRole(iamCtx, &iamsdk.CreateRoleInput{RoleName: aws.String("ops"), AssumeRolePolicyDocument: aws.String(trust), MaxSessionDuration: aws.Int32(7200)}); err != nil {
		t.Fatal(err)
	}
	if _, err := root.PutRolePolicy(iamCtx, &iamsdk.PutRolePolicyInput{RoleName: aws.String("ops"), PolicyName: aws.String("p"),
		PolicyDocument: aws.String(iamPolicy("Allow", `["lambda:*","iam:Get*","sts:AssumeRole"]`, `"*"`))}); err != nil {
		t.Fatal(err)
	}
	sam := e.user("sam", iamPolicy("Allow", `["sts:AssumeRole","sts:TagSession"]`, `"*"`))
	nobody := e.user("nobody")
	roleARN := "arn:aws:iam::" + A + ":role/ops"

	t.Run("GetCallerIdentity", func(t *testing.T) {
		for _, c := range []struct {
			creds       iamCreds
			arn, userID string
		}{
			{e.rootCreds(), "arn:aws:iam::" + A + ":root", A},
			{nobody, "arn:aws:iam::" + A + ":user/nobody", "AIDA"},
		} {
			id, err := e.sts(c.creds).GetCallerIdentity(iamCtx, &stssdk.GetCallerIdentityInput{})
			if err != nil {
				t.Fatal(err)
			}
			if aws.ToString(id.Arn) != c.arn || aws.ToString(id.Account) != A || !strings.HasPrefix(aws.ToString(id.UserId), c.userID) {
				t.Errorf("GetCallerIdentity = %s %s %s", aws.ToString(id.Arn), aws.ToString(id.Account), aws.ToString(id.UserId))
			}
		}
	})

	out, err := e.sts(sam).AssumeRole(iamCtx, &stssdk.AssumeRoleInput{RoleArn: aws.String(roleARN), RoleSessionName: aws.String("deploy"),
		DurationSeconds: aws.Int32(900), Tags: []ststypes.Tag{{Key: aws.String("ticket"), Value: aws.String("42")}}})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(out.AssumedRoleUser.Arn) != "arn:aws:sts::"+A+":assumed-role/ops/deploy" || !strings.HasSuffix(aws.ToString(out.AssumedRoleUser.AssumedRoleId), ":deploy") {
		t.Fatalf("AssumeRole = %+v", out.AssumedRoleUser)
	}
	if d := time.Until(aws.ToTime(out.Credentials.Expiration)); d < 14*time.Minute || d > 16*time.Minute {
		t.Fatalf("expires in %v", d)
	}
	sess := iamSessionCreds(out.Credentials)
	id, err := e.sts(sess).GetCallerIdentity(iamCtx, &stssdk.GetCallerIdentityInput{})
	if err != nil || aws.ToString(id.Arn) != "arn:aws:sts::"+A+":assumed-role/ops/deploy" {
		t.Fatalf("session identity: %v %+v", err, id)
	}
	// The session has the role's permissions: Lambda yes, IAM writes no.
	if _, err := e.lambda(sess).ListFunctions(iamCtx, &lambda.ListFunctionsInput{}); err != nil {
		t.Fatalf("session ListFunctions: %v", err)
	}
	_, err = e.iam(sess).CreateUser(iamCtx, &iamsdk.CreateUserInput{UserName: aws.String("x")})
	iamWantErr(t, err, 403, "AccessDenied", "User: arn:aws:sts::"+A+":assumed-role/ops/deploy is not authorized to perform: iam:CreateUser on resource: arn:aws:iam::"+A+":user/x because no identity-based policy allows the iam:CreateUser action")

	// A session policy narrows the session.
	narrow, err := e.sts(sam).AssumeRole(iamCtx, &stssdk.AssumeRoleInput{RoleArn: aws.String(roleARN), RoleSessionName: aws.String("narrow"),
		Policy: aws.String(iamPolicy("Allow", `"lambda:GetAccountSettings"`, `"*"`))})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToInt32(narrow.SessionTokenUtilization) <= 0 {
		t.Errorf("SessionTokenUtilization %d", aws.ToInt32(narrow.SessionTokenUtilization))
	}
	nc := iamSessionCreds(narrow.Credentials)
	if _, err := e.lambda(nc).GetAccountSettings(iamCtx, &lambda.GetAccountSettingsInput{}); err != nil {
		t.Fatalf("within session policy: %v", err)
	}
	_, err = e.lambda(nc).ListFunctions(iamCtx, &lambda.ListFunctionsInput{})
	iamWantErr(t, err, 403, "AccessDeniedException", "User: arn:aws:sts::"+A+":assumed-role/ops/narrow is not authorized to perform: lambda:ListFunctions on resource: * because no session policy allows the lambda:ListFunctions action")

	// Role chaining is limited to an hour.
	_, err = e.sts(sess).AssumeRole(iamCtx, &stssdk.AssumeRoleInput{RoleArn: aws.String(roleARN), RoleSessionName: aws.String("chain"), DurationSeconds: aws.Int32(3601)})
	iamWantErr(t, err, 400, "ValidationError", "The requested DurationSeconds exceeds the 1 hour session limit for roles assumed by role chaining.")
	_, err = e.sts(sam).AssumeRole(iamCtx, &stssdk.AssumeRoleInput{RoleArn: aws.String(roleARN), RoleSessionName: aws.String("long"), DurationSeconds: aws.Int32(7201)})
	iamWantErr(t, err, 400, "ValidationError", "The requested DurationSeconds exceeds the MaxSessionDuration set for this role.")
	_, err = e.sts(nobody).AssumeRole(iamCtx, &stssdk.AssumeRoleInput{RoleArn: aws.String(roleARN), RoleSessionName: aws.String("x1")})
	iamWantErr(t, err, 403, "AccessDenied", "User: arn:aws:iam::"+A+":user/nobody is not authorized to perform: sts:AssumeRole on resource: "+roleARN+" because no identity-based policy allows the sts:AssumeRole action")
	_, err = e.sts(sam).AssumeRole(iamCtx, &stssdk.AssumeRoleInput{RoleArn: aws.String("arn:aws:iam::" + A + ":role/none"), RoleSessionName: aws.String("x1")})
	iamWantErr(t, err, 403, "AccessDenied", "...")
	_, err = e.sts(e.rootCreds()).AssumeRole(iamCtx, &stssdk.AssumeRoleInput{RoleArn: aws.String(roleARN), RoleSessionName: aws.String("x1")})
	iamWantErr(t, err, 403, "AccessDenied", "Roles may not be assumed by root accounts.")
	_, err = e.sts(sam).AssumeRole(iamCtx, &stssdk.AssumeRoleInput{RoleArn: aws.String(roleARN), RoleSessionName: aws.String("x1"), Policy: aws.String("{")})
	iamWantErr(t, err, 400, "MalformedPolicyDocument", "...")

	// Tokens: a tampered one is invalid, a missing one too, an expired one
	// expired.
	bad := sess
	bad.token = sess.token[:len(sess.token)-2] + "AA"
	_, err = e.sts(bad).GetCallerIdentity(iamCtx, &stssdk.GetCallerIdentityInput{})
	iamWantErr(t, err, 403, "InvalidClientTokenId", "The security token included in the request is invalid.")
	_, err = e.lambda(bad).ListFunctions(iamCtx, &lambda.ListFunctionsInput{})
	iamWantErr(t, err, 403, "UnrecognizedClientException", "The security token included in the request is invalid.")
	noToken := sess
	noToken.token = ""
	_, err = e.sts(noToken).GetCallerIdentity(iamCtx, &stssdk.GetCallerIdentityInput{})
	iamWantErr(t, err, 403, "InvalidClientTokenId", "The security token included in the request is invalid.")
	withToken := nobody
	withToken.token = sess.token
	_, err = e.sts(withToken).GetCallerIdentity(iamCtx, &stssdk.GetCallerIdentityInput{})
	iamWantErr(t, err, 403, "InvalidClientTokenId", "The security token included in the request is invalid.")

	// GetSessionToken gives a user its own permissions, but not IAM.
	gst, err := e.sts(sam).GetSessionToken(iamCtx, &stssdk.GetSessionTokenInput{DurationSeconds: aws.Int32(900)})
	if err != nil {
		t.Fatal(err)
	}
	st := iamSessionCreds(gst.Credentials)
	id, err = e.sts(st).GetCallerIdentity(iamCtx, &stssdk.GetCallerIdentityInput{})
	if err != nil || aws.ToString(id.Arn) != "arn:aws:iam::"+A+":user/sam" {
		t.Fatalf("GetSessionToken identity: %v %+v", err, id)
	}
	_, err = e.iam(st).ListUsers(iamCtx, &iamsdk.ListUsersInput{})
	iamWantErr(t, err, 403, "InvalidClientTokenId", "...")

	// Fifteen minutes later the first session has expired.
	e.clock.advance(16 * time.Minute)
	_, err = e.sts(sess).GetCallerIdentity(iamCtx, &stssdk.GetCallerIdentityInput{})
	iamWantErr(t, err, 403, "ExpiredToken", "The security token included in the request is expired")
	_, err = e.lambda(sess).ListFunctions(iamCtx, &lambda.ListFunctionsInput{})
	iamWantErr(t, err, 403, "ExpiredTokenException", "The security token included in the request is expired")
}
