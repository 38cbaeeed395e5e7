package api

import (
	"net/http"
	"strconv"

	"github.com/cloister/cloister/internal/awserr"
	"github.com/cloister/cloister/internal/functions"
)

// Layer routes (functions/layers.go has the rules).

// layerCodeMsg: PublishLayerVersion carries a zip as CreateFunction does.
const layerCodeMsg = "Request must be smaller than 70167211 bytes for the PublishLayerVersion operation"

func (s *Server) layerRoutes() []route {
	return []route{
		{pattern: "POST /2018-10-31/layers/{layer}/versions", action: "lambda:PublishLayerVersion", resource: s.layerResource, handle: s.publishLayerVersion, maxBody: maxCodeRequest, tooLarge: layerCodeMsg},
		{pattern: "GET /2018-10-31/layers/{layer}/versions", action: "lambda:ListLayerVersions", resource: anyResource, handle: s.listLayerVersions},
		{pattern: "GET /2018-10-31/layers/{layer}/versions/{version}", action: "lambda:GetLayerVersion", resource: s.layerVersionResource, handle: s.getLayerVersion},
		{pattern: "DELETE /2018-10-31/layers/{layer}/versions/{version}", action: "lambda:DeleteLayerVersion", resource: s.layerVersionResource, handle: s.deleteLayerVersion},
		{pattern: "GET /2018-10-31/layers", action: "lambda:ListLayers", resource: s.listLayersResource, handle: s.listLayersOrFind},
		{pattern: "GET /2018-10-31/layers/{$}", action: "lambda:ListLayers", resource: s.listLayersResource, handle: s.listLayersOrFind},
	}
}

// byArnRoute is what GET /2018-10-31/layers?find=LayerVersion&Arn= is:
// GetLayerVersionByArn, authorized as lambda:GetLayerVersion.
var byArnRoute = route{pattern: "GET /2018-10-31/layers?find=LayerVersion", action: "lambda:GetLayerVersion"}

// layerResource is the layer a path names (for publishing).
func (s *Server) layerResource(c *call) (string, string, error) {
	l, err := functions.ParseLayerName(c.r.PathValue("layer"), c.caller.Account, s.cfg.Region)
	if err != nil {
		return "", "", err
	}
	c.layer = l
	return functions.LayerARN(s.cfg.Region, l), l.Account, nil
}

// layerVersionResource is the layer version a path names.
func (s *Server) layerVersionResource(c *call) (string, string, error) {
	if _, _, err := s.layerResource(c); err != nil {
		return "", "", err
	}
	v := c.r.PathValue("version")
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 {
		return "", "", awserr.New(awserr.InvalidParameterValue, "Layer Version Cannot be less than 1")
	}
	c.layerVersion = n
	return functions.LayerVersionARN(s.cfg.Region, c.layer, n), c.layer.Account, nil
}

// listLayersResource: ListLayers names no resource; the same path with
// find=LayerVersion is GetLayerVersionByArn, on the version its Arn names.
func (s *Server) listLayersResource(c *call) (string, string, error) {
	q := c.r.URL.Query()
	if q.Get("find") == "" {
		return "*", "", nil
	}
	if q.Get("find") != "LayerVersion" {
		return "", "", awserr.New(awserr.Validation, "1 validation error detected: Value '%s' at 'find' failed to satisfy constraint: Member must satisfy enum value set: [LayerVersion]", truncate(q.Get("find"), 32))
	}
	c.route = &byArnRoute
	a := q.Get("Arn")
	l, region, n, ok := functions.ParseLayerVersionARN(a)
	if !ok || len(a) > 140 {
		return "", "", awserr.New(awserr.Validation, "1 validation error detected: Value '%s' at 'arn' failed to satisfy constraint: Member must satisfy regular expression pattern: arn:[a-zA-Z0-9-]+:lambda:[a-zA-Z0-9-]+:\\d{12}:layer:[a-zA-Z0-9-_]+:[0-9]+", truncate(a, 160))
	}
	if region != s.cfg.Region {
		return "", "", awserr.New(awserr.InvalidParameterValue, "Layer version %s is not in region %s.", a, s.cfg.Region)
	}
	c.layer, c.layerVersion = l, n
	return functions.LayerVersionARN(s.cfg.Region, l, n), l.Account, nil
}

func (s *Server) publishLayerVersion(c *call) error {
	var in functions.PublishLayerInput
	if err := decodeJSON(c.body, &in); err != nil {
		return err
	}
	out, err := s.cfg.Functions.PublishLayer(c.ctx, c.caller.Account, c.layer, &in)
	if err != nil {
		return err
	}
	out.Content.Location = s.codeURL(c.r, out.CodeHash)
	return c.json(http.StatusCreated, out)
}

func (s *Server) getLayerVersion(c *call) error {
	out, err := s.cfg.Functions.GetLayerVersion(c.ctx, c.layer, c.layerVersion)
	if err != nil {
		return err
	}
	out.Content.Location = s.codeURL(c.r, out.CodeHash)
	return c.json(http.StatusOK, out)
}

func (s *Server) deleteLayerVersion(c *call) error {
	if err := s.cfg.Functions.DeleteLayerVersion(c.ctx, c.caller.Account, c.layer, c.layerVersion); err != nil {
		return err
	}
	return c.empty(http.StatusNoContent)
}

func layerFilter(c *call) functions.LayerFilter {
	q := c.r.URL.Query()
	return functions.LayerFilter{Runtime: q.Get("CompatibleRuntime"), Architecture: q.Get("CompatibleArchitecture")}
}

func (s *Server) listLayerVersions(c *call) error {
	if _, _, err := s.layerResource(c); err != nil {
		return err
	}
	if c.layer.Account != c.caller.Account {
		return awserr.New(awserr.AccessDenied, "Cloister lists layer versions only in the caller's own account (%s), not in %s.", c.caller.Account, c.layer.Account)
	}
	marker, max, err := pageArgs(c.r)
	if err != nil {
		return err
	}
	items, next, err := s.cfg.Functions.ListLayerVersions(c.ctx, c.layer, layerFilter(c), marker, max)
	if err != nil {
		return err
	}
	return c.json(http.StatusOK, struct {
		NextMarker    string                            `json:"NextMarker,omitempty"`
		LayerVersions []functions.LayerVersionsListItem `json:"LayerVersions"`
	}{next, items})
}

func (s *Server) listLayersOrFind(c *call) error {
	if c.route == &byArnRoute {
		return s.getLayerVersion(c)
	}
	marker, max, err := pageArgs(c.r)
	if err != nil {
		return err
	}
	items, next, err := s.cfg.Functions.ListLayers(c.ctx, c.caller.Account, layerFilter(c), marker, max)
	if err != nil {
		return err
	}
	return c.json(http.StatusOK, struct {
		NextMarker string                     `json:"NextMarker,omitempty"`
		Layers     []functions.LayersListItem `json:"Layers"`
	}{next, items})
}
