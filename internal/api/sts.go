package api

import (
	"context"
	"strconv"

	"github.com/cloister/cloister/internal/awserr"
	"github.com/cloister/cloister/internal/iam"
	"github.com/cloister/cloister/internal/policy"
)

// The STS operations (AWS Query protocol).
var stsOps = map[string]queryOp{
	"GetCallerIdentity": {authzNone, handleGetCallerIdentity},
	"AssumeRole":        {authzAssumeRole, handleAssumeRole},
	"GetSessionToken":   {authzNone, handleGetSessionToken},
}

// authzNone is for the STS operations AWS performs for any authenticated
// caller, whatever its policies say: GetCallerIdentity, and
// GetSessionToken (which only hands the caller's own permissions back).
func authzNone(q *qcall) error {
	q.noAuthorization()
	return nil
}

func handleGetCallerIdentity(q *qcall) error {
	return q.respond(func(w *xmlWriter) {
		w.text("UserId", q.caller.UserID)
		w.text("Account", q.caller.Account)
		w.text("Arn", q.caller.ARN)
	})
}

// assumeRoleInput reads AssumeRole's parameters.
func (q *qcall) assumeRoleInput() (iam.AssumeRoleInput, error) {
	in := iam.AssumeRoleInput{
		RoleARN: q.p.get("RoleArn"), SessionName: q.p.get("RoleSessionName"), Policy: q.p.get("Policy"),
		SourceIdentity: q.p.get("SourceIdentity"), ExternalID: q.p.get("ExternalId"),
	}
	var err error
	if in.Duration, err = q.p.integer("DurationSeconds", "durationSeconds"); err != nil {
		return in, err
	}
	if q.p.has("DurationSeconds") && in.Duration == 0 {
		return in, awserr.New(awserr.Validation, "1 validation error detected: Value '0' at 'durationSeconds' failed to satisfy constraint: Member must have value greater than or equal to 900")
	}
	arns, err := q.p.structs("PolicyArns")
	if err != nil {
		return in, err
	}
	for _, a := range arns {
		in.PolicyARNs = append(in.PolicyARNs, q.p.get(a+"arn"))
	}
	if in.Tags, err = q.tags("Tags"); err != nil {
		return in, err
	}
	if in.TransitiveTagKeys, err = q.p.list("TransitiveTagKeys"); err != nil {
		return in, err
	}
	return in, iam.CheckAssumeRoleInput(&in)
}

func authzAssumeRole(q *qcall) error {
	if err := q.p.required("RoleArn", "RoleSessionName"); err != nil {
		return err
	}
	in, err := q.assumeRoleInput()
	if err != nil {
		return err
	}
	if q.p.has("SerialNumber") || q.p.has("TokenCode") {
		// Cloister has no MFA devices: no code can be validated.
		return awserr.New(awserr.AccessDenied, "MultiFactorAuthentication failed, unable to validate MFA code.")
	}
	if q.caller.Type == iam.TypeRoot {
		return awserr.New(awserr.AccessDenied, "Roles may not be assumed by root accounts.")
	}
	q.role = q.ids().RoleByARN(in.RoleARN)
	trust := func(context.Context) (*policy.Policy, error) {
		if q.role == nil {
			return nil, nil
		}
		return q.ids().TrustPolicy(q.role)
	}
	keys := map[string][]string{"sts:RoleSessionName": {in.SessionName}}
	if in.ExternalID != "" {
		keys["sts:ExternalId"] = []string{in.ExternalID}
	}
	if in.SourceIdentity != "" {
		keys["sts:SourceIdentity"] = []string{in.SourceIdentity}
	}
	addRequestTags(keys, in.Tags)
	if len(in.TransitiveTagKeys) > 0 {
		keys["sts:TransitiveTagKeys"] = in.TransitiveTagKeys
	}
	account := policyAccount(in.RoleARN, q.account)
	if err := q.authorize("sts:AssumeRole", in.RoleARN, account, keys, trust); err != nil {
		return err
	}
	if len(in.Tags) > 0 {
		if err := q.authorize("sts:TagSession", in.RoleARN, account, keys, trust); err != nil {
			return err
		}
	}
	if in.SourceIdentity != "" {
		if err := q.authorize("sts:SetSourceIdentity", in.RoleARN, account, keys, trust); err != nil {
			return err
		}
	}
	return nil
}

func writeCredentials(w *xmlWriter, c iam.Credentials) {
	w.start("Credentials")
	w.text("AccessKeyId", c.AccessKeyID)
	w.text("SecretAccessKey", c.SecretAccessKey.Reveal())
	w.text("SessionToken", c.SessionToken.Reveal())
	w.date("Expiration", c.Expiration)
	w.end("Credentials")
}

func handleAssumeRole(q *qcall) error {
	in, err := q.assumeRoleInput()
	if err != nil {
		return err
	}
	out, err := q.ids().AssumeRole(q.ctx, q.caller, in)
	if err != nil {
		return err
	}
	return q.respond(func(w *xmlWriter) {
		w.opt("SourceIdentity", out.SourceIdentity)
		w.start("AssumedRoleUser")
		w.text("AssumedRoleId", out.AssumedRoleID)
		w.text("Arn", out.AssumedRoleARN)
		w.end("AssumedRoleUser")
		writeCredentials(w, out.Credentials)
		if out.PackedPolicySize >= 0 {
			// Older clients read PackedPolicySize, newer ones its successor.
			w.text("PackedPolicySize", strconv.Itoa(out.PackedPolicySize))
			w.text("SessionTokenUtilization", strconv.Itoa(out.PackedPolicySize))
		}
	})
}

func handleGetSessionToken(q *qcall) error {
	if q.p.has("SerialNumber") || q.p.has("TokenCode") {
		return awserr.New(awserr.AccessDenied, "MultiFactorAuthentication failed, unable to validate MFA code.")
	}
	d, err := q.p.integer("DurationSeconds", "durationSeconds")
	if err != nil {
		return err
	}
	creds, err := q.ids().GetSessionToken(q.ctx, q.caller, d)
	if err != nil {
		return err
	}
	return q.respond(func(w *xmlWriter) { writeCredentials(w, creds) })
}
