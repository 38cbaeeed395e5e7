package api

import (
	"net/http"

	"github.com/cloister/cloister/internal/functions"
)

// provisionedResource is the resource of GET .../provisioned-concurrency,
// which is GetProvisionedConcurrencyConfig or, with List=ALL,
// ListProvisionedConcurrencyConfigs (on the unqualified function).
func (s *Server) provisionedResource(c *call) (string, string, error) {
	if c.r.URL.Query().Get("List") == "ALL" {
		return s.unqualifiedResource(c)
	}
	return s.functionResource(c)
}

func (s *Server) putProvisioned(c *call) error {
	var in struct {
		ProvisionedConcurrentExecutions *int `json:"ProvisionedConcurrentExecutions"`
	}
	if err := decodeJSON(c.body, &in); err != nil {
		return err
	}
	out, err := s.cfg.Functions.PutProvisioned(c.ctx, c.ref, in.ProvisionedConcurrentExecutions)
	if err != nil {
		return err
	}
	return c.json(http.StatusAccepted, out)
}

func (s *Server) getProvisioned(c *call) error {
	if c.r.URL.Query().Get("List") == "ALL" {
		marker, max, err := pageArgs(c.r)
		if err != nil {
			return err
		}
		items, next, err := s.cfg.Functions.ListProvisioned(c.ctx, c.ref, marker, max)
		if err != nil {
			return err
		}
		out := struct {
			ProvisionedConcurrencyConfigs []functions.ProvisionedConfig `json:"ProvisionedConcurrencyConfigs"`
			NextMarker                    string                        `json:"NextMarker,omitempty"`
		}{items, next}
		if out.ProvisionedConcurrencyConfigs == nil {
			out.ProvisionedConcurrencyConfigs = []functions.ProvisionedConfig{}
		}
		return c.json(http.StatusOK, out)
	}
	out, err := s.cfg.Functions.GetProvisioned(c.ctx, c.ref)
	if err != nil {
		return err
	}
	return c.json(http.StatusOK, out)
}

func (s *Server) deleteProvisioned(c *call) error {
	if err := s.cfg.Functions.DeleteProvisioned(c.ctx, c.ref); err != nil {
		return err
	}
	return c.empty(http.StatusNoContent)
}
