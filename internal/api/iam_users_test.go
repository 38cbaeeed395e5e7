package api_test

import (
	"net/url"
	"slices"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	iamsdk "github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/iam/types"
	stssdk "github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/google/go-cmp/cmp"
)

func TestIAMUsers(t *testing.T) {
	t.Parallel()
	e := newIAMEnv(t, "")
	c := e.iam(e.rootCreds())
	A := e.mgmt

	out, err := c.CreateUser(iamCtx, &iamsdk.CreateUserInput{UserName: aws.String("Alice"), Path: aws.String("/eng/"),
		Tags: []types.Tag{{Key: aws.String("team"), Value: aws.String("blue")}}})
	if err != nil {
		t.Fatal(err)
	}
	u := out.User
	if aws.ToString(u.Arn) != "arn:aws:iam::"+A+":user/eng/Alice" || aws.ToString(u.Path) != "/eng/" || len(aws.ToString(u.UserId)) != 21 ||
		aws.ToString(u.UserId)[:4] != "AIDA" || time.Since(aws.ToTime(u.CreateDate)) > time.Minute || len(u.Tags) != 1 {
		t.Fatalf("CreateUser returned %+v", u)
	}
	got, err := c.GetUser(iamCtx, &iamsdk.GetUserInput{UserName: aws.String("alice")})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(got.User.UserName) != "Alice" || aws.ToString(got.User.UserId) != aws.ToString(u.UserId) {
		t.Fatalf("GetUser (any case) = %+v", got.User)
	}
	self, err := c.GetUser(iamCtx, &iamsdk.GetUserInput{})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(self.User.Arn) != "arn:aws:iam::"+A+":root" || aws.ToString(self.User.UserId) != A {
		t.Fatalf("GetUser as root = %+v", self.User)
	}

	for _, n := range []string{"bob", "carol", "dave"} {
		if _, err := c.CreateUser(iamCtx, &iamsdk.CreateUserInput{UserName: aws.String(n)}); err != nil {
			t.Fatal(err)
		}
	}
	list, err := c.ListUsers(iamCtx, &iamsdk.ListUsersInput{})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, u := range list.Users {
		names = append(names, aws.ToString(u.UserName))
	}
	if diff := cmp.Diff([]string{"Alice", "bob", "carol", "dave"}, names); diff != "" || list.IsTruncated {
		t.Fatalf("ListUsers (-want +got):\n%s", diff)
	}
	eng, err := c.ListUsers(iamCtx, &iamsdk.ListUsersInput{PathPrefix: aws.String("/eng")})
	if err != nil || len(eng.Users) != 1 {
		t.Fatalf("ListUsers /eng: %v %d", err, len(eng.Users))
	}
	// Pagination with MaxItems and Marker, through the SDK's paginator.
	var paged []string
	pages := 0
	p := iamsdk.NewListUsersPaginator(c, &iamsdk.ListUsersInput{MaxItems: aws.Int32(3)})
	for p.HasMorePages() {
		pg, err := p.NextPage(iamCtx)
		if err != nil {
			t.Fatal(err)
		}
		pages++
		for _, u := range pg.Users {
			paged = append(paged, aws.ToString(u.UserName))
		}
	}
	if !slices.Equal(paged, names) || pages != 2 {
		t.Fatalf("paginated %v in %d pages", paged, pages)
	}

	if _, err := c.UpdateUser(iamCtx, &iamsdk.UpdateUserInput{UserName: aws.String("dave"), NewUserName: aws.String("david"), NewPath: aws.String("/ops/")}); err != nil {
		t.Fatal(err)
	}
	d, err := c.GetUser(iamCtx, &iamsdk.GetUserInput{UserName: aws.String("david")})
	if err != nil || aws.ToString(d.User.Arn) != "arn:aws:iam::"+A+":user/ops/david" {
		t.Fatalf("renamed user: %v %+v", err, d)
	}

	if _, err := c.TagUser(iamCtx, &iamsdk.TagUserInput{UserName: aws.String("bob"), Tags: []types.Tag{
		{Key: aws.String("a"), Value: aws.String("1")}, {Key: aws.String("b"), Value: aws.String("")}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.UntagUser(iamCtx, &iamsdk.UntagUserInput{UserName: aws.String("bob"), TagKeys: []string{"A"}}); err != nil {
		t.Fatal(err)
	}
	tags, err := c.ListUserTags(iamCtx, &iamsdk.ListUserTagsInput{UserName: aws.String("bob")})
	if err != nil || len(tags.Tags) != 1 || aws.ToString(tags.Tags[0].Key) != "b" || tags.Tags[0].Value == nil {
		t.Fatalf("ListUserTags: %v %+v", err, tags)
	}

	errs := []struct {
		what   string
		call   func() error
		status int
		code   string
		msg    string
	}{
		{"duplicate", func() error {
			_, err := c.CreateUser(iamCtx, &iamsdk.CreateUserInput{UserName: aws.String("BOB")})
			return err
		}, 409, "EntityAlreadyExists", "User with name BOB already exists."},
		{"missing", func() error {
			_, err := c.GetUser(iamCtx, &iamsdk.GetUserInput{UserName: aws.String("nobody")})
			return err
		}, 404, "NoSuchEntity", "The user with name nobody cannot be found."},
		{"bad name", func() error {
			_, err := c.CreateUser(iamCtx, &iamsdk.CreateUserInput{UserName: aws.String("a/b")})
			return err
		}, 400, "ValidationError", `1 validation error detected: Value 'a/b' at 'userName' failed to satisfy constraint: Member must satisfy regular expression pattern: [\w+=,.@-]+`},
		{"delete missing", func() error {
			_, err := c.DeleteUser(iamCtx, &iamsdk.DeleteUserInput{UserName: aws.String("nobody")})
			return err
		}, 404, "NoSuchEntity", "The user with name nobody cannot be found."},
		{"reserved tag", func() error {
			_, err := c.TagUser(iamCtx, &iamsdk.TagUserInput{UserName: aws.String("bob"), Tags: []types.Tag{{Key: aws.String("aws:x"), Value: aws.String("1")}}})
			return err
		}, 400, "InvalidInput", "..."},
		{"bad marker", func() error {
			_, err := c.ListUsers(iamCtx, &iamsdk.ListUsersInput{Marker: aws.String("nonsense")})
			return err
		}, 400, "ValidationError", "Invalid Marker."},
		{"MaxItems out of range", func() error {
			_, err := c.ListUsers(iamCtx, &iamsdk.ListUsersInput{MaxItems: aws.Int32(1001)})
			return err
		}, 400, "ValidationError", "..."},
	}
	for _, x := range errs {
		t.Run(x.what, func(t *testing.T) { iamWantErr(t, x.call(), x.status, x.code, x.msg) })
	}

	if _, err := c.DeleteUser(iamCtx, &iamsdk.DeleteUserInput{UserName: aws.String("carol")}); err != nil {
		t.Fatal(err)
	}
	_, err = c.GetUser(iamCtx, &iamsdk.GetUserInput{UserName: aws.String("carol")})
	iamWantErr(t, err, 404, "NoSuchEntity", "The user with name carol cannot be found.")
}

func TestIAMAccessKeys(t *testing.T) {
	t.Parallel()
	e := newIAMEnv(t, "")
	c := e.iam(e.rootCreds())
	if _, err := c.CreateUser(iamCtx, &iamsdk.CreateUserInput{UserName: aws.String("kay")}); err != nil {
		t.Fatal(err)
	}
	k1, err := c.CreateAccessKey(iamCtx, &iamsdk.CreateAccessKeyInput{UserName: aws.String("kay")})
	if err != nil {
		t.Fatal(err)
	}
	ak := k1.AccessKey
	if aws.ToString(ak.UserName) != "kay" || ak.Status != types.StatusTypeActive || len(aws.ToString(ak.SecretAccessKey)) != 40 || aws.ToString(ak.AccessKeyId)[:4] != "AKIA" {
		t.Fatalf("CreateAccessKey = %+v", ak)
	}
	kay := iamCreds{aws.ToString(ak.AccessKeyId), aws.ToString(ak.SecretAccessKey), ""}
	id, err := e.sts(kay).GetCallerIdentity(iamCtx, &stssdk.GetCallerIdentityInput{})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(id.Arn) != "arn:aws:iam::"+e.mgmt+":user/kay" || aws.ToString(id.Account) != e.mgmt {
		t.Fatalf("GetCallerIdentity = %+v", id)
	}
	if _, err := c.CreateAccessKey(iamCtx, &iamsdk.CreateAccessKeyInput{UserName: aws.String("kay")}); err != nil {
		t.Fatal(err)
	}
	_, err = c.CreateAccessKey(iamCtx, &iamsdk.CreateAccessKeyInput{UserName: aws.String("kay")})
	iamWantErr(t, err, 409, "LimitExceeded", "Cannot exceed quota for AccessKeysPerUser: 2")
	list, err := c.ListAccessKeys(iamCtx, &iamsdk.ListAccessKeysInput{UserName: aws.String("kay")})
	if err != nil || len(list.AccessKeyMetadata) != 2 {
		t.Fatalf("ListAccessKeys: %v %+v", err, list)
	}

	// Deactivated, the key stops working; reactivated, it works again.
	if _, err := c.UpdateAccessKey(iamCtx, &iamsdk.UpdateAccessKeyInput{UserName: aws.String("kay"), AccessKeyId: ak.AccessKeyId, Status: types.StatusTypeInactive}); err != nil {
		t.Fatal(err)
	}
	_, err = e.sts(kay).GetCallerIdentity(iamCtx, &stssdk.GetCallerIdentityInput{})
	iamWantErr(t, err, 403, "InvalidClientTokenId", "The security token included in the request is invalid.")
	if _, err := c.UpdateAccessKey(iamCtx, &iamsdk.UpdateAccessKeyInput{UserName: aws.String("kay"), AccessKeyId: ak.AccessKeyId, Status: types.StatusTypeActive}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.sts(kay).GetCallerIdentity(iamCtx, &stssdk.GetCallerIdentityInput{}); err != nil {
		t.Fatal(err)
	}
	// A user manages its own keys without naming itself, if allowed.
	if _, err := c.PutUserPolicy(iamCtx, &iamsdk.PutUserPolicyInput{UserName: aws.String("kay"), PolicyName: aws.String("own"),
		PolicyDocument: aws.String(iamPolicy("Allow", `["iam:ListAccessKeys","iam:UpdateAccessKey"]`, `"arn:aws:iam::*:user/${aws:username}"`))}); err != nil {
		t.Fatal(err)
	}
	own, err := e.iam(kay).ListAccessKeys(iamCtx, &iamsdk.ListAccessKeysInput{})
	if err != nil || len(own.AccessKeyMetadata) != 2 {
		t.Fatalf("own ListAccessKeys: %v %+v", err, own)
	}
	_, err = e.iam(kay).CreateAccessKey(iamCtx, &iamsdk.CreateAccessKeyInput{})
	iamWantErr(t, err, 403, "AccessDenied", "User: arn:aws:iam::"+e.mgmt+":user/kay is not authorized to perform: iam:CreateAccessKey on resource: arn:aws:iam::"+e.mgmt+":user/kay because no identity-based policy allows the iam:CreateAccessKey action")
	_, err = e.iam(kay).ListAccessKeys(iamCtx, &iamsdk.ListAccessKeysInput{UserName: aws.String("")})
	iamWantErr(t, err, 400, "ValidationError", "...")

	_, err = c.DeleteUser(iamCtx, &iamsdk.DeleteUserInput{UserName: aws.String("kay")})
	iamWantErr(t, err, 409, "DeleteConflict", "Cannot delete entity, must delete access keys first.")
	_, err = c.DeleteAccessKey(iamCtx, &iamsdk.DeleteAccessKeyInput{UserName: aws.String("kay"), AccessKeyId: aws.String("AKIAAAAAAAAAAAAAAAAA")})
	iamWantErr(t, err, 404, "NoSuchEntity", "The Access Key with id AKIAAAAAAAAAAAAAAAAA cannot be found")
	if _, err := c.DeleteAccessKey(iamCtx, &iamsdk.DeleteAccessKeyInput{UserName: aws.String("kay"), AccessKeyId: ak.AccessKeyId}); err != nil {
		t.Fatal(err)
	}
	_, err = e.sts(kay).GetCallerIdentity(iamCtx, &stssdk.GetCallerIdentityInput{})
	iamWantErr(t, err, 403, "InvalidClientTokenId", "The security token included in the request is invalid.")

	// The root user's own keys.
	rk, err := c.ListAccessKeys(iamCtx, &iamsdk.ListAccessKeysInput{})
	if err != nil || len(rk.AccessKeyMetadata) != 1 || aws.ToString(rk.AccessKeyMetadata[0].AccessKeyId) != e.root.AccessKeyID {
		t.Fatalf("root ListAccessKeys: %v %+v", err, rk)
	}
}

func TestIAMGroups(t *testing.T) {
	t.Parallel()
	e := newIAMEnv(t, "")
	c := e.iam(e.rootCreds())
	g, err := c.CreateGroup(iamCtx, &iamsdk.CreateGroupInput{GroupName: aws.String("devs"), Path: aws.String("/eng/")})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(g.Group.Arn) != "arn:aws:iam::"+e.mgmt+":group/eng/devs" || aws.ToString(g.Group.GroupId)[:4] != "AGPA" {
		t.Fatalf("CreateGroup = %+v", g.Group)
	}
	for _, u := range []string{"u1", "u2"} {
		if _, err := c.CreateUser(iamCtx, &iamsdk.CreateUserInput{UserName: aws.String(u)}); err != nil {
			t.Fatal(err)
		}
		if _, err := c.AddUserToGroup(iamCtx, &iamsdk.AddUserToGroupInput{GroupName: aws.String("devs"), UserName: aws.String(u)}); err != nil {
			t.Fatal(err)
		}
	}
	got, err := c.GetGroup(iamCtx, &iamsdk.GetGroupInput{GroupName: aws.String("devs")})
	if err != nil || len(got.Users) != 2 || aws.ToString(got.Group.GroupName) != "devs" {
		t.Fatalf("GetGroup: %v %+v", err, got)
	}
	fu, err := c.ListGroupsForUser(iamCtx, &iamsdk.ListGroupsForUserInput{UserName: aws.String("u1")})
	if err != nil || len(fu.Groups) != 1 {
		t.Fatalf("ListGroupsForUser: %v %+v", err, fu)
	}
	lg, err := c.ListGroups(iamCtx, &iamsdk.ListGroupsInput{})
	if err != nil || len(lg.Groups) != 1 {
		t.Fatalf("ListGroups: %v %+v", err, lg)
	}
	_, err = c.DeleteGroup(iamCtx, &iamsdk.DeleteGroupInput{GroupName: aws.String("devs")})
	iamWantErr(t, err, 409, "DeleteConflict", "Cannot delete entity, must remove users from group first.")
	_, err = c.RemoveUserFromGroup(iamCtx, &iamsdk.RemoveUserFromGroupInput{GroupName: aws.String("devs"), UserName: aws.String("nobody")})
	iamWantErr(t, err, 404, "NoSuchEntity", "The user with name nobody cannot be found.")
	for _, u := range []string{"u1", "u2"} {
		if _, err := c.RemoveUserFromGroup(iamCtx, &iamsdk.RemoveUserFromGroupInput{GroupName: aws.String("devs"), UserName: aws.String(u)}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := c.UpdateGroup(iamCtx, &iamsdk.UpdateGroupInput{GroupName: aws.String("devs"), NewGroupName: aws.String("developers")}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.DeleteGroup(iamCtx, &iamsdk.DeleteGroupInput{GroupName: aws.String("developers")}); err != nil {
		t.Fatal(err)
	}
	_, err = c.GetGroup(iamCtx, &iamsdk.GetGroupInput{GroupName: aws.String("devs")})
	iamWantErr(t, err, 404, "NoSuchEntity", "The group with name devs cannot be found.")
}

// decodeDoc undoes IAM's URL encoding of policy documents.
func iamDecodeDoc(t *testing.T, s *string) string {
	t.Helper()
	d, err := url.QueryUnescape(aws.ToString(s))
	if err != nil {
		t.Fatalf("policy document %q is not URL-encoded: %v", aws.ToString(s), err)
	}
	return d
}
