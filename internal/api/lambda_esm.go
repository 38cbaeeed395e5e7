package api

import (
	"net/http"

	"github.com/cloister/cloister/internal/awserr"
	"github.com/cloister/cloister/internal/esm"
	"github.com/cloister/cloister/internal/functions"
)

// Event source mappings (package esm). Create and List act on no named
// resource ("*"), as Lambda documents; Get, Update and Delete act on the
// mapping's ARN, arn:aws:lambda:REGION:ACCOUNT:event-source-mapping:UUID,
// in the caller's account (a UUID of another account's mapping is not
// found). Create, Get, Update and Delete carry the condition key
// lambda:FunctionArn, the unqualified ARN of the mapping's function.
// Mappings belong to the caller's account and map its functions.

// mappings returns the service, or an error when this server has none.
func (s *Server) mappings() (*esm.Service, error) {
	if s.cfg.EventSourceMappings == nil {
		return nil, awserr.New(awserr.ServiceUnavailable, "This Cloister server does not run event source mappings.")
	}
	return s.cfg.EventSourceMappings, nil
}

// mappingResource derives the ARN of the mapping a path names. A UUID of
// the wrong form names nothing that can exist. The condition key
// lambda:FunctionArn is the function the mapping invokes: the one an
// UpdateEventSourceMapping body names, else the stored mapping's.
func (s *Server) mappingResource(c *call) (string, string, error) {
	id := c.r.PathValue("uuid")
	if err := esm.CheckUUID(id); err != nil {
		return "", "", err
	}
	fn := ""
	if c.route.action == "lambda:UpdateEventSourceMapping" {
		var in esm.UpdateInput
		if err := decodeJSON(c.body, &in); err != nil {
			return "", "", err
		}
		c.input = &in
		if in.FunctionName != nil {
			fn = *in.FunctionName
		}
	}
	if fn == "" && s.cfg.EventSourceMappings != nil {
		// A mapping that does not exist (or is another account's) has no
		// function: the handler reports it.
		if m, err := s.cfg.EventSourceMappings.Get(c.ctx, c.caller.Account, id); err == nil {
			fn = m.FunctionArn
		} else if !awserr.IsType(err, awserr.ResourceNotFound) {
			return "", "", err
		}
	}
	s.mappingFunction(c, fn)
	return esm.MappingARN(s.cfg.Region, c.caller.Account, id), c.caller.Account, nil
}

// createMappingResource decodes CreateEventSourceMapping's body for the
// condition key lambda:FunctionArn; the action names no resource ("*").
func (s *Server) createMappingResource(c *call) (string, string, error) {
	var in esm.CreateInput
	if err := decodeJSON(c.body, &in); err != nil {
		return "", "", err
	}
	c.input = &in
	if in.FunctionName != nil {
		s.mappingFunction(c, *in.FunctionName)
	}
	return "*", "", nil
}

// mappingFunction sets lambda:FunctionArn to the (unqualified) ARN of the
// function a mapping invokes, named as FunctionName may name it. A name
// that does not parse sets nothing: the handler refuses it.
func (s *Server) mappingFunction(c *call, name string) {
	if name == "" {
		return
	}
	r, err := functions.ParseRef(name, "", c.caller.Account, s.cfg.Region)
	if err != nil {
		return
	}
	c.setCondition("lambda:FunctionArn", functions.FunctionARN(s.cfg.Region, r.Account, r.Name))
}

func (s *Server) createMapping(c *call) error {
	svc, err := s.mappings()
	if err != nil {
		return err
	}
	in := c.input.(*esm.CreateInput) // decoded for authorization
	out, err := svc.Create(c.ctx, c.caller.Account, in)
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
	in := c.input.(*esm.UpdateInput) // decoded for authorization
	// Repointing a mapping to another function acts on both: the caller
	// must also be allowed to update the mapping as it is now, or a user
	// limited to one function could take over any mapping by its UUID.
	if in.FunctionName != nil {
		if m, err := svc.Get(c.ctx, c.caller.Account, c.r.PathValue("uuid")); err == nil {
			if r, err := functions.ParseRef(m.FunctionArn, "", c.caller.Account, s.cfg.Region); err == nil {
				stored := functions.FunctionARN(s.cfg.Region, r.Account, r.Name)
				if want := c.conditions["lambda:FunctionArn"]; len(want) != 1 || want[0] != stored {
					if err := s.authorize(c, map[string][]string{"lambda:FunctionArn": {stored}}); err != nil {
						return err
					}
				}
			}
		}
	}
	out, err := svc.Update(c.ctx, c.caller.Account, c.r.PathValue("uuid"), in)
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
