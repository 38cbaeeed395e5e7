package api

import (
	"net/http"

	"github.com/cloister/cloister/internal/awserr"
	"github.com/cloister/cloister/internal/esm"
)

// Event source mappings (package esm). Create and List act on no named
// resource ("*"), as Lambda documents; Get, Update and Delete act on the
// mapping's ARN, arn:aws:lambda:REGION:ACCOUNT:event-source-mapping:UUID,
// in the caller's account (a UUID of another account's mapping is not
// found). Mappings belong to the caller's account and map its functions.

// mappings returns the service, or an error when this server has none.
func (s *Server) mappings() (*esm.Service, error) {
	if s.cfg.EventSourceMappings == nil {
		return nil, awserr.New(awserr.ServiceUnavailable, "This Cloister server does not run event source mappings.")
	}
	return s.cfg.EventSourceMappings, nil
}

// mappingResource derives the ARN of the mapping a path names. A UUID of
// the wrong form names nothing that can exist.
func (s *Server) mappingResource(c *call) (string, string, error) {
	id := c.r.PathValue("uuid")
	if err := esm.CheckUUID(id); err != nil {
		return "", "", err
	}
	return esm.MappingARN(s.cfg.Region, c.caller.Account, id), c.caller.Account, nil
}

func (s *Server) createMapping(c *call) error {
	svc, err := s.mappings()
	if err != nil {
		return err
	}
	var in esm.CreateInput
	if err := decodeJSON(c.body, &in); err != nil {
		return err
	}
	out, err := svc.Create(c.ctx, c.caller.Account, &in)
	if err != nil {
		return err
	}
	return c.json(http.StatusAccepted, out)
}

func (s *Server) getMapping(c *call) error {
	svc, err := s.mappings()
	if err != nil {
		return err
	}
	out, err := svc.Get(c.ctx, c.caller.Account, c.r.PathValue("uuid"))
	if err != nil {
		return err
	}
	return c.json(http.StatusOK, out)
}

func (s *Server) updateMapping(c *call) error {
	svc, err := s.mappings()
	if err != nil {
		return err
	}
	var in esm.UpdateInput
	if err := decodeJSON(c.body, &in); err != nil {
		return err
	}
	out, err := svc.Update(c.ctx, c.caller.Account, c.r.PathValue("uuid"), &in)
	if err != nil {
		return err
	}
	return c.json(http.StatusAccepted, out)
}

func (s *Server) deleteMapping(c *call) error {
	svc, err := s.mappings()
	if err != nil {
		return err
	}
	out, err := svc.Delete(c.ctx, c.caller.Account, c.r.PathValue("uuid"))
	if err != nil {
		return err
	}
	return c.json(http.StatusAccepted, out)
}

func (s *Server) listMappings(c *call) error {
	svc, err := s.mappings()
	if err != nil {
		return err
	}
	marker, maxItems, err := pageArgs(c.r)
	if err != nil {
		return err
	}
	q := c.r.URL.Query()
	page, err := svc.List(c.ctx, c.caller.Account, esm.ListInput{
		EventSourceArn: q.Get("EventSourceArn"), FunctionName: q.Get("FunctionName"), Marker: marker, MaxItems: maxItems,
	})
	if err != nil {
		return err
	}
	return c.json(http.StatusOK, page)
}
