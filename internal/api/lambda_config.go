package api

import (
	"net/http"

	"github.com/cloister/cloister/internal/functions"
)

func (s *Server) createAlias(c *call) error {
	var in functions.AliasInput
	if err := decodeJSON(c.body, &in); err != nil {
		return err
	}
	out, err := s.cfg.Functions.CreateAlias(c.ctx, c.ref, &in)
	if err != nil {
		return err
	}
	return c.json(http.StatusCreated, out)
}

func (s *Server) getAlias(c *call) error {
	out, err := s.cfg.Functions.GetAlias(c.ctx, c.ref, c.r.PathValue("alias"))
	if err != nil {
		return err
	}
	return c.json(http.StatusOK, out)
}

func (s *Server) updateAlias(c *call) error {
	var in functions.AliasInput
	if err := decodeJSON(c.body, &in); err != nil {
		return err
	}
	out, err := s.cfg.Functions.UpdateAlias(c.ctx, c.ref, c.r.PathValue("alias"), &in)
	if err != nil {
		return err
	}
	return c.json(http.StatusOK, out)
}

func (s *Server) deleteAlias(c *call) error {
	if err := s.cfg.Functions.DeleteAlias(c.ctx, c.ref, c.r.PathValue("alias")); err != nil {
		return err
	}
	return c.empty(http.StatusNoContent)
}

func (s *Server) listAliases(c *call) error {
	marker, max, err := pageArgs(c.r)
	if err != nil {
		return err
	}
	page, err := s.cfg.Functions.ListAliases(c.ctx, c.ref, c.r.URL.Query().Get("FunctionVersion"), marker, max)
	if err != nil {
		return err
	}
	out := struct {
		Aliases    []functions.Alias `json:"Aliases"`
		NextMarker string            `json:"NextMarker,omitempty"`
	}{page.Aliases, page.NextMarker}
	if out.Aliases == nil {
		out.Aliases = []functions.Alias{}
	}
	return c.json(http.StatusOK, out)
}

func (s *Server) addPermission(c *call) error {
	in := c.input.(*functions.PermissionInput) // decoded for authorization
	st, err := s.cfg.Functions.AddPermission(c.ctx, c.ref, in)
	if err != nil {
		return err
	}
	return c.json(http.StatusCreated, map[string]string{"Statement": st})
}

func (s *Server) getPolicy(c *call) error {
	doc, rev, err := s.cfg.Functions.Policy(c.ctx, c.ref)
	if err != nil {
		return err
	}
	return c.json(http.StatusOK, map[string]string{"Policy": doc, "RevisionId": rev})
}

func (s *Server) removePermission(c *call) error {
	var rev *string
	if v, ok := c.r.URL.Query()["RevisionId"]; ok && len(v) > 0 {
		rev = &v[0]
	}
	if err := s.cfg.Functions.RemovePermission(c.ctx, c.ref, c.r.PathValue("sid"), rev); err != nil {
		return err
	}
	return c.empty(http.StatusNoContent)
}

func (s *Server) putConcurrency(c *call) error {
	var in struct {
		ReservedConcurrentExecutions *int `json:"ReservedConcurrentExecutions"`
	}
	if err := decodeJSON(c.body, &in); err != nil {
		return err
	}
	n, err := s.cfg.Functions.PutConcurrency(c.ctx, c.ref, in.ReservedConcurrentExecutions)
	if err != nil {
		return err
	}
	return c.json(http.StatusOK, functions.Concurrency{ReservedConcurrentExecutions: &n})
}

func (s *Server) getConcurrency(c *call) error {
	n, err := s.cfg.Functions.GetConcurrency(c.ctx, c.ref)
	if err != nil {
		return err
	}
	return c.json(http.StatusOK, functions.Concurrency{ReservedConcurrentExecutions: n})
}

func (s *Server) deleteConcurrency(c *call) error {
	if err := s.cfg.Functions.DeleteConcurrency(c.ctx, c.ref); err != nil {
		return err
	}
	return c.empty(http.StatusNoContent)
}

func (s *Server) putEventInvoke(c *call) error {
	var in functions.EventInvokeInput
	if err := decodeJSON(c.body, &in); err != nil {
		return err
	}
	out, err := s.cfg.Functions.PutEventInvoke(c.ctx, c.ref, &in)
	if err != nil {
		return err
	}
	return c.json(http.StatusOK, out)
}

func (s *Server) updateEventInvoke(c *call) error {
	var in functions.EventInvokeInput
	if err := decodeJSON(c.body, &in); err != nil {
		return err
	}
	out, err := s.cfg.Functions.UpdateEventInvoke(c.ctx, c.ref, &in)
	if err != nil {
		return err
	}
	return c.json(http.StatusOK, out)
}

func (s *Server) getEventInvoke(c *call) error {
	out, err := s.cfg.Functions.GetEventInvoke(c.ctx, c.ref)
	if err != nil {
		return err
	}
	return c.json(http.StatusOK, out)
}

func (s *Server) deleteEventInvoke(c *call) error {
	if err := s.cfg.Functions.DeleteEventInvoke(c.ctx, c.ref); err != nil {
		return err
	}
	return c.empty(http.StatusNoContent)
}

func (s *Server) listEventInvoke(c *call) error {
	marker, max, err := pageArgs(c.r)
	if err != nil {
		return err
	}
	items, next, err := s.cfg.Functions.ListEventInvoke(c.ctx, c.ref, marker, max)
	if err != nil {
		return err
	}
	out := struct {
		FunctionEventInvokeConfigs []functions.EventInvokeConfig `json:"FunctionEventInvokeConfigs"`
		NextMarker                 string                        `json:"NextMarker,omitempty"`
	}{items, next}
	if out.FunctionEventInvokeConfigs == nil {
		out.FunctionEventInvokeConfigs = []functions.EventInvokeConfig{}
	}
	return c.json(http.StatusOK, out)
}

func (s *Server) tag(c *call) error {
	var in struct {
		Tags map[string]string `json:"Tags"`
	}
	if err := decodeJSON(c.body, &in); err != nil {
		return err
	}
	if err := s.cfg.Functions.Tag(c.ctx, c.r.PathValue("arn"), in.Tags); err != nil {
		return err
	}
	return c.empty(http.StatusNoContent)
}

func (s *Server) untag(c *call) error {
	if err := s.cfg.Functions.Untag(c.ctx, c.r.PathValue("arn"), c.r.URL.Query()["tagKeys"]); err != nil {
		return err
	}
	return c.empty(http.StatusNoContent)
}

func (s *Server) listTags(c *call) error {
	tags, err := s.cfg.Functions.Tags(c.ctx, c.r.PathValue("arn"))
	if err != nil {
		return err
	}
	return c.json(http.StatusOK, map[string]any{"Tags": tags})
}
