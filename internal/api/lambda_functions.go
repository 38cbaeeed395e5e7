package api

import (
	"context"
	"net/http"

	"github.com/cloister/cloister/internal/awserr"
	"github.com/cloister/cloister/internal/functions"
)

func (s *Server) createFunction(c *call) error {
	out, err := s.cfg.Functions.Create(c.ctx, c.caller.Account, c.input.(*functions.CreateInput), s.roleCheck(c))
	if err != nil {
		return err
	}
	return c.json(http.StatusCreated, out)
}

func (s *Server) getFunction(c *call) error {
	fn, err := s.cfg.Functions.Get(c.ctx, c.ref)
	if err != nil {
		return err
	}
	out := functions.GetOutput{
		Configuration: fn.Config,
		Code:          functions.CodeLocation{RepositoryType: "S3", Location: s.codeURL(c.r, fn.CodeHash)},
		Tags:          fn.Tags,
	}
	if fn.Reserved != nil {
		out.Concurrency = &functions.Concurrency{ReservedConcurrentExecutions: fn.Reserved}
	}
	return c.json(http.StatusOK, out)
}

func (s *Server) getFunctionConfiguration(c *call) error {
	fn, err := s.cfg.Functions.Get(c.ctx, c.ref)
	if err != nil {
		return err
	}
	return c.json(http.StatusOK, fn.Config)
}

func (s *Server) updateFunctionConfiguration(c *call) error {
	var in functions.UpdateConfigInput
	if err := decodeJSON(c.body, &in); err != nil {
		return err
	}
	out, err := s.cfg.Functions.UpdateConfig(c.ctx, c.ref, &in, s.roleCheck(c))
	if err != nil {
		return err
	}
	return c.json(http.StatusOK, out)
}

func (s *Server) updateFunctionCode(c *call) error {
	var in functions.UpdateCodeInput
	if err := decodeJSON(c.body, &in); err != nil {
		return err
	}
	out, err := s.cfg.Functions.UpdateCode(c.ctx, c.ref, &in)
	if err != nil {
		return err
	}
	return c.json(http.StatusOK, out)
}

func (s *Server) deleteFunction(c *call) error {
	if err := s.cfg.Functions.Delete(c.ctx, c.ref); err != nil {
		return err
	}
	return c.empty(http.StatusNoContent)
}

func (s *Server) listFunctions(c *call) error {
	marker, max, err := pageArgs(c.r)
	if err != nil {
		return err
	}
	q := c.r.URL.Query()
	all := false
	switch v := q.Get("FunctionVersion"); v {
	case "":
	case "ALL":
		all = true
	default:
		return awserr.New(awserr.Validation, "1 validation error detected: Value '%s' at 'functionVersion' failed to satisfy constraint: Member must satisfy enum value set: [ALL]", truncate(v, 32))
	}
	page, err := s.cfg.Functions.List(c.ctx, c.caller.Account, marker, max, all)
	if err != nil {
		return err
	}
	out := struct {
		Functions  []functions.Configuration `json:"Functions"`
		NextMarker string                    `json:"NextMarker,omitempty"`
	}{page.Items, page.NextMarker}
	if out.Functions == nil {
		out.Functions = []functions.Configuration{}
	}
	return c.json(http.StatusOK, out)
}

func (s *Server) publishVersion(c *call) error {
	var in functions.PublishInput
	if err := decodeJSON(c.body, &in); err != nil {
		return err
	}
	out, err := s.cfg.Functions.Publish(c.ctx, c.ref, &in)
	if err != nil {
		return err
	}
	return c.json(http.StatusCreated, out)
}

func (s *Server) listVersions(c *call) error {
	marker, max, err := pageArgs(c.r)
	if err != nil {
		return err
	}
	page, err := s.cfg.Functions.ListVersions(c.ctx, c.ref, marker, max)
	if err != nil {
		return err
	}
	out := struct {
		Versions   []functions.Configuration `json:"Versions"`
		NextMarker string                    `json:"NextMarker,omitempty"`
	}{page.Items, page.NextMarker}
	return c.json(http.StatusOK, out)
}

func (s *Server) accountSettings(c *call) error {
	out, err := s.cfg.Functions.AccountSettings(c.ctx, c.caller.Account)
	if err != nil {
		return err
	}
	return c.json(http.StatusOK, out)
}

// roleCheck is how CreateFunction and UpdateFunctionConfiguration verify the
// execution role: it must exist in the account, trust Lambda, and be one the
// caller may pass (iam:PassRole).
func (s *Server) roleCheck(c *call) functions.RoleCheck {
	return func(ctx context.Context, role string) error {
		return s.cfg.IAM.CheckExecutionRole(ctx, c.caller, role)
	}
}
