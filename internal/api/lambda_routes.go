package api

import (
	"context"
	"net/http"
	"strconv"

	"github.com/cloister/cloister/internal/awserr"
	"github.com/cloister/cloister/internal/functions"
	"github.com/cloister/cloister/internal/policy"
)

// Request body limits.
const (
	maxCodeRequest   = 70167211 // a 50 MB zip, base64-encoded, in JSON
	maxInvokeRequest = 6291456  // 6 MB
	maxListItems     = 50
)

func (s *Server) lambdaRoutes() []route {
	fn := s.functionResource
	fnBase := s.unqualifiedResource
	codeLimit := func(action string) (int64, string) {
		return maxCodeRequest, "Request must be smaller than 70167211 bytes for the " + action + " operation"
	}
	createMax, createMsg := codeLimit("CreateFunction")
	updateMax, updateMsg := codeLimit("UpdateFunctionCode")
	return []route{
		{pattern: "POST /2015-03-31/functions", action: "lambda:CreateFunction", resource: s.createResource, handle: s.createFunction, maxBody: createMax, tooLarge: createMsg},
		{pattern: "POST /2015-03-31/functions/{$}", action: "lambda:CreateFunction", resource: s.createResource, handle: s.createFunction, maxBody: createMax, tooLarge: createMsg},
		{pattern: "GET /2015-03-31/functions", action: "lambda:ListFunctions", resource: anyResource, handle: s.listFunctions},
		{pattern: "GET /2015-03-31/functions/{$}", action: "lambda:ListFunctions", resource: anyResource, handle: s.listFunctions},
		{pattern: "GET /2015-03-31/functions/{name}", action: "lambda:GetFunction", resource: fn, handle: s.getFunction},
		{pattern: "DELETE /2015-03-31/functions/{name}", action: "lambda:DeleteFunction", resource: fn, handle: s.deleteFunction},
		{pattern: "GET /2015-03-31/functions/{name}/configuration", action: "lambda:GetFunctionConfiguration", resource: fn, handle: s.getFunctionConfiguration},
		{pattern: "PUT /2015-03-31/functions/{name}/configuration", action: "lambda:UpdateFunctionConfiguration", resource: fn, handle: s.updateFunctionConfiguration},
		{pattern: "PUT /2015-03-31/functions/{name}/code", action: "lambda:UpdateFunctionCode", resource: fn, handle: s.updateFunctionCode, maxBody: updateMax, tooLarge: updateMsg},
		{pattern: "POST /2015-03-31/functions/{name}/versions", action: "lambda:PublishVersion", resource: fn, handle: s.publishVersion},
		{pattern: "GET /2015-03-31/functions/{name}/versions", action: "lambda:ListVersionsByFunction", resource: fn, handle: s.listVersions},
		{pattern: "POST /2015-03-31/functions/{name}/aliases", action: "lambda:CreateAlias", resource: fnBase, handle: s.createAlias},
		{pattern: "GET /2015-03-31/functions/{name}/aliases", action: "lambda:ListAliases", resource: fnBase, handle: s.listAliases},
		{pattern: "GET /2015-03-31/functions/{name}/aliases/{alias}", action: "lambda:GetAlias", resource: fnBase, handle: s.getAlias},
		{pattern: "PUT /2015-03-31/functions/{name}/aliases/{alias}", action: "lambda:UpdateAlias", resource: fnBase, handle: s.updateAlias},
		{pattern: "DELETE /2015-03-31/functions/{name}/aliases/{alias}", action: "lambda:DeleteAlias", resource: fnBase, handle: s.deleteAlias},
		{pattern: "POST /2015-03-31/functions/{name}/policy", action: "lambda:AddPermission", resource: fn, handle: s.addPermission},
		{pattern: "GET /2015-03-31/functions/{name}/policy", action: "lambda:GetPolicy", resource: fn, handle: s.getPolicy},
		{pattern: "DELETE /2015-03-31/functions/{name}/policy/{sid}", action: "lambda:RemovePermission", resource: fn, handle: s.removePermission},
		{pattern: "PUT /2017-10-31/functions/{name}/concurrency", action: "lambda:PutFunctionConcurrency", resource: fn, handle: s.putConcurrency},
		{pattern: "DELETE /2017-10-31/functions/{name}/concurrency", action: "lambda:DeleteFunctionConcurrency", resource: fn, handle: s.deleteConcurrency},
		{pattern: "GET /2019-09-30/functions/{name}/concurrency", action: "lambda:GetFunctionConcurrency", resource: fn, handle: s.getConcurrency},
		{pattern: "PUT /2019-09-25/functions/{name}/event-invoke-config", action: "lambda:PutFunctionEventInvokeConfig", resource: fn, handle: s.putEventInvoke},
		{pattern: "POST /2019-09-25/functions/{name}/event-invoke-config", action: "lambda:UpdateFunctionEventInvokeConfig", resource: fn, handle: s.updateEventInvoke},
		{pattern: "GET /2019-09-25/functions/{name}/event-invoke-config", action: "lambda:GetFunctionEventInvokeConfig", resource: fn, handle: s.getEventInvoke},
		{pattern: "DELETE /2019-09-25/functions/{name}/event-invoke-config", action: "lambda:DeleteFunctionEventInvokeConfig", resource: fn, handle: s.deleteEventInvoke},
		{pattern: "GET /2019-09-25/functions/{name}/event-invoke-config/list", action: "lambda:ListFunctionEventInvokeConfigs", resource: fnBase, handle: s.listEventInvoke},
		{pattern: "POST /2017-03-31/tags/{arn}", action: "lambda:TagResource", resource: s.tagResource, handle: s.tag},
		{pattern: "GET /2017-03-31/tags/{arn}", action: "lambda:ListTags", resource: s.tagResource, handle: s.listTags},
		{pattern: "DELETE /2017-03-31/tags/{arn}", action: "lambda:UntagResource", resource: s.tagResource, handle: s.untag},
		{pattern: "GET /2016-08-19/account-settings", action: "lambda:GetAccountSettings", resource: anyResource, handle: s.accountSettings},
		{pattern: "GET /2016-08-19/account-settings/{$}", action: "lambda:GetAccountSettings", resource: anyResource, handle: s.accountSettings},
		{pattern: "PUT /2019-09-30/functions/{name}/provisioned-concurrency", action: "lambda:PutProvisionedConcurrencyConfig", resource: fn, handle: s.putProvisioned},
		{pattern: "GET /2019-09-30/functions/{name}/provisioned-concurrency", action: "lambda:GetProvisionedConcurrencyConfig", resource: s.provisionedResource, handle: s.getProvisioned},
		{pattern: "DELETE /2019-09-30/functions/{name}/provisioned-concurrency", action: "lambda:DeleteProvisionedConcurrencyConfig", resource: fn, handle: s.deleteProvisioned},
		{pattern: "POST /2015-03-31/event-source-mappings", action: "lambda:CreateEventSourceMapping", resource: s.createMappingResource, handle: s.createMapping},
		{pattern: "POST /2015-03-31/event-source-mappings/{$}", action: "lambda:CreateEventSourceMapping", resource: s.createMappingResource, handle: s.createMapping},
		{pattern: "GET /2015-03-31/event-source-mappings", action: "lambda:ListEventSourceMappings", resource: anyResource, handle: s.listMappings},
		{pattern: "GET /2015-03-31/event-source-mappings/{$}", action: "lambda:ListEventSourceMappings", resource: anyResource, handle: s.listMappings},
		{pattern: "GET /2015-03-31/event-source-mappings/{uuid}", action: "lambda:GetEventSourceMapping", resource: s.mappingResource, handle: s.getMapping},
		{pattern: "PUT /2015-03-31/event-source-mappings/{uuid}", action: "lambda:UpdateEventSourceMapping", resource: s.mappingResource, handle: s.updateMapping},
		{pattern: "DELETE /2015-03-31/event-source-mappings/{uuid}", action: "lambda:DeleteEventSourceMapping", resource: s.mappingResource, handle: s.deleteMapping},
		{pattern: "POST /2015-03-31/functions/{name}/invocations", action: "lambda:InvokeFunction", resource: fn, handle: s.invoke, maxBody: maxInvokeRequest,
			tooLarge: "Request must be smaller than 6291456 bytes for the InvokeFunction operation"},
		{pattern: "POST /2014-11-13/functions/{name}/invoke-async", action: "lambda:InvokeAsync", resource: fn, handle: s.invokeAsync, maxBody: maxAsyncPayload,
			tooLarge: "Request must be smaller than 1048576 bytes for the InvokeAsync operation"},
		{pattern: "POST /2014-11-13/functions/{name}/invoke-async/{$}", action: "lambda:InvokeAsync", resource: fn, handle: s.invokeAsync, maxBody: maxAsyncPayload,
			tooLarge: "Request must be smaller than 1048576 bytes for the InvokeAsync operation"},
	}
}

// anyResource is for actions that name no resource (IAM's "*").
func anyResource(c *call) (string, string, error) { return "*", "", nil }

// functionResource derives the function (version, alias) a path names.
func (s *Server) functionResource(c *call) (string, string, error) {
	r, err := functions.ParseRef(c.r.PathValue("name"), c.r.URL.Query().Get("Qualifier"), c.caller.Account, s.cfg.Region)
	if err != nil {
		return "", "", err
	}
	s.targetFunction(c, r)
	if c.route.action == "lambda:AddPermission" {
		if err := s.permissionConditions(c); err != nil {
			return "", "", err
		}
	}
	return r.ARN(s.cfg.Region), r.Account, nil
}

// unqualifiedResource is functionResource for operations on a function's
// aliases and configurations, whose IAM resource is the function itself.
func (s *Server) unqualifiedResource(c *call) (string, string, error) {
	r, err := functions.ParseRef(c.r.PathValue("name"), "", c.caller.Account, s.cfg.Region)
	if err != nil {
		return "", "", err
	}
	s.targetFunction(c, r)
	return functions.FunctionARN(s.cfg.Region, r.Account, r.Name), r.Account, nil
}

// targetFunction records the function a call acts on, with what the
// authorizer needs to know about it: its resource-based policy and the
// condition keys lambda:FunctionArn and aws:ResourceTag/*.
func (s *Server) targetFunction(c *call, r functions.Ref) {
	c.ref = r
	c.resourcePolicy = func(ctx context.Context) (*policy.Policy, error) {
		p, err := s.cfg.Functions.ResourcePolicy(ctx, r)
		if awserr.IsType(err, awserr.ResourceNotFound) {
			return nil, nil // the handler reports the missing function
		}
		return p, err
	}
	c.setCondition("lambda:FunctionArn", functions.FunctionARN(s.cfg.Region, r.Account, r.Name))
	for k, v := range s.cfg.Functions.ResourceTags(c.ctx, r.Account, r.Name) {
		c.setCondition("aws:ResourceTag/"+k, v)
	}
}

// setCondition adds a condition key for this call's authorization.
func (c *call) setCondition(key string, values ...string) {
	if c.conditions == nil {
		c.conditions = map[string][]string{}
	}
	c.conditions[key] = values
}

// requestTags sets aws:RequestTag/* and aws:TagKeys for tags a call adds.
func (c *call) requestTags(tags map[string]string) {
	keys := make([]string, 0, len(tags))
	for k, v := range tags {
		c.setCondition("aws:RequestTag/"+k, v)
		keys = append(keys, k)
	}
	if len(keys) > 0 {
		c.setCondition("aws:TagKeys", keys...)
	}
}

// permissionConditions decodes AddPermission's body early for its condition
// keys (lambda:Principal, lambda:FunctionUrlAuthType).
func (s *Server) permissionConditions(c *call) error {
	var in functions.PermissionInput
	if err := decodeJSON(c.body, &in); err != nil {
		return err
	}
	c.input = &in
	if in.Principal != nil {
		c.setCondition("lambda:Principal", *in.Principal)
	}
	if in.FunctionUrlAuthType != nil {
		c.setCondition("lambda:FunctionUrlAuthType", *in.FunctionUrlAuthType)
	}
	return nil
}

// createResource decodes CreateFunction's body to find the function name.
func (s *Server) createResource(c *call) (string, string, error) {
	var in functions.CreateInput
	if err := decodeJSON(c.body, &in); err != nil {
		return "", "", err
	}
	c.input = &in
	c.requestTags(in.Tags)
	if len(in.Layers) > 0 {
		c.setCondition("lambda:Layer", in.Layers...)
	}
	if in.CodeSigningConfigArn != nil {
		c.setCondition("lambda:CodeSigningConfigArn", *in.CodeSigningConfigArn)
	}
	if in.FunctionName == nil {
		return functions.FunctionARN(s.cfg.Region, c.caller.Account, "*"), c.caller.Account, nil
	}
	r, err := functions.ParseRef(*in.FunctionName, "", c.caller.Account, s.cfg.Region)
	if err != nil {
		return "", "", err
	}
	c.ref = r
	return functions.FunctionARN(s.cfg.Region, r.Account, r.Name), r.Account, nil
}

func (s *Server) tagResource(c *call) (string, string, error) {
	r, err := s.cfg.Functions.TagTarget(c.r.PathValue("arn"))
	if err != nil {
		return "", "", err
	}
	s.targetFunction(c, r)
	switch c.route.action {
	case "lambda:TagResource":
		var in struct {
			Tags map[string]string `json:"Tags"`
		}
		if err := decodeJSON(c.body, &in); err != nil {
			return "", "", err
		}
		c.requestTags(in.Tags)
	case "lambda:UntagResource":
		if keys := c.r.URL.Query()["tagKeys"]; len(keys) > 0 {
			c.setCondition("aws:TagKeys", keys...)
		}
	}
	return functions.FunctionARN(s.cfg.Region, r.Account, r.Name), r.Account, nil
}

// pageArgs reads Marker and MaxItems (1..10000, at most 50 served).
func pageArgs(r *http.Request) (marker string, max int, err error) {
	q := r.URL.Query()
	marker = q.Get("Marker")
	max = maxListItems
	if v := q.Get("MaxItems"); v != "" {
		n, perr := strconv.Atoi(v)
		if perr != nil {
			return "", 0, awserr.New(awserr.InvalidRequestContent, "Could not parse request: MaxItems '%s' is not an integer", truncate(v, 32))
		}
		if n < 1 {
			return "", 0, awserr.New(awserr.Validation, "1 validation error detected: Value '%d' at 'maxItems' failed to satisfy constraint: Member must have value greater than or equal to 1", n)
		}
		if n > 10000 {
			return "", 0, awserr.New(awserr.Validation, "1 validation error detected: Value '%d' at 'maxItems' failed to satisfy constraint: Member must have value less than or equal to 10000", n)
		}
		max = min(n, maxListItems)
	}
	return marker, max, nil
}
