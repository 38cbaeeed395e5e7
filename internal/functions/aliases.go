package functions

import (
	"context"
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"github.com/cloister/cloister/internal/awserr"
)

var aliasVersionRe = regexp.MustCompile(`^(\$LATEST|[0-9]+)$`)

// checkAliasInput validates the members of CreateAlias/UpdateAlias.
func checkAliasInput(in *AliasInput, creating bool) error {
	var v violations
	if creating && in.Name == nil {
		v.add(nil, "name", "Member must not be null")
	}
	if in.Name != nil {
		n := *in.Name
		switch {
		case len(n) < 1 || len(n) > 128:
			v.add(n, "name", "Member must have length less than or equal to 128")
		case !aliasNameRe.MatchString(n) || isVersion(n):
			v.add(n, "name", "Member must satisfy regular expression pattern: (?!^[0-9]+$)([a-zA-Z0-9-_]+)")
		}
	}
	if creating && in.FunctionVersion == nil {
		v.add(nil, "functionVersion", "Member must not be null")
	}
	if in.FunctionVersion != nil && (len(*in.FunctionVersion) > 1024 || !aliasVersionRe.MatchString(*in.FunctionVersion)) {
		v.add(*in.FunctionVersion, "functionVersion", `Member must satisfy regular expression pattern: (\$LATEST|[0-9]+)`)
	}
	if in.Description != nil && len(*in.Description) > 256 {
		v.add(*in.Description, "description", "Member must have length less than or equal to 256")
	}
	if in.RoutingConfig != nil {
		for _, k := range sortedKeys(in.RoutingConfig.AdditionalVersionWeights) {
			w := in.RoutingConfig.AdditionalVersionWeights[k]
			if !isVersion(k) || len(k) > 1024 {
				v.add("{"+k+"="+javaDouble(w)+"}", "routingConfig.additionalVersionWeights", "Map keys must satisfy constraint: [Member must have length less than or equal to 1024, Member must have length greater than or equal to 1, Member must satisfy regular expression pattern: [0-9]+]")
			}
			if w < 0 || w > 1 {
				// AWS shows the map entry as Java prints it: {2=1.5}.
				v.add("{"+k+"="+javaDouble(w)+"}", "routingConfig.additionalVersionWeights", "Map value must satisfy constraint: [Member must have value less than or equal to 1.0, Member must have value greater than or equal to 0.0, Member must not be null]")
			}
		}
	}
	return v.err()
}

// javaDouble formats f as Java's Double.toString does for ordinary
// magnitudes: always with a fractional part ("2.0", "1.5").
func javaDouble(f float64) string {
	s := strconv.FormatFloat(f, 'f', -1, 64)
	if !strings.ContainsAny(s, ".NI") {
		s += ".0"
	}
	return s
}

// checkAliasTarget checks that an alias's versions exist and its routing
// makes sense.
func (s *Service) checkAliasTarget(ctx context.Context, rec *functionRecord, r Ref, a *Alias) error {
	exists := func(ver string) error {
		if ver == LatestVersion {
			return nil
		}
		var n int
		fmt.Sscanf(ver, "%d", &n)
		_, _, err := s.loadVersion(ctx, rec, Ref{Account: r.Account, Name: r.Name, Qualifier: ver}, n)
		return err
	}
	if err := exists(a.FunctionVersion); err != nil {
		return err
	}
	if a.RoutingConfig == nil || len(a.RoutingConfig.AdditionalVersionWeights) == 0 {
		return nil
	}
	weights := a.RoutingConfig.AdditionalVersionWeights
	if len(weights) > 1 {
		return invalidParam("Number of items in AdditionalVersionWeights cannot be greater than 1")
	}
	if a.FunctionVersion == LatestVersion {
		return invalidParam("$LATEST is not supported for an alias pointing to more than 1 version")
	}
	for ver := range weights {
		if ver == a.FunctionVersion {
			return invalidParam("Invalid function version %s. Function version %s is already included in routing configuration.", ver, ver)
		}
		if err := exists(ver); err != nil {
			return err
		}
	}
	return nil
}

func (s *Service) aliasNotFound(r Ref, name string) *awserr.Error {
	return awserr.New(awserr.ResourceNotFound, "Cannot find alias arn: %s", QualifiedARN(s.cfg.Region, r.Account, r.Name, name))
}

// CreateAlias is CreateAlias.
func (s *Service) CreateAlias(ctx context.Context, r Ref, in *AliasInput) (*Alias, error) {
	if err := checkAliasInput(in, true); err != nil {
		return nil, err
	}
	if r.Qualifier != "" {
		return nil, invalidParam("Unsupported function name format: %s:%s.", r.Name, r.Qualifier)
	}
	var out Alias
	_, err := s.mutate(ctx, r, func(rec *functionRecord) error {
		name := *in.Name
		arn := QualifiedARN(s.cfg.Region, r.Account, r.Name, name)
		if _, ok := rec.Aliases[name]; ok {
			return awserr.New(awserr.ResourceConflict, "Alias already exists: %s", arn)
		}
		a := Alias{
			AliasArn:        arn,
			Name:            name,
			FunctionVersion: *in.FunctionVersion,
			Description:     deref(in.Description),
			RoutingConfig:   normalizeRouting(in.RoutingConfig),
			RevisionId:      newID(),
		}
		if err := s.checkAliasTarget(ctx, rec, r, &a); err != nil {
			return err
		}
		if rec.Aliases == nil {
			rec.Aliases = map[string]*aliasRecord{}
		}
		rec.Aliases[name] = &aliasRecord{Alias: a}
		out = a
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &out, nil
}

func normalizeRouting(rc *AliasRoutingConfig) *AliasRoutingConfig {
	if rc == nil || len(rc.AdditionalVersionWeights) == 0 {
		return nil
	}
	return rc
}

// GetAlias is GetAlias.
func (s *Service) GetAlias(ctx context.Context, r Ref, name string) (*Alias, error) {
	rec, _, err := s.load(ctx, r)
	if err != nil {
		return nil, err
	}
	a, ok := rec.Aliases[name]
	if !ok {
		return nil, s.aliasNotFound(r, name)
	}
	return &a.Alias, nil
}

// UpdateAlias is UpdateAlias.
func (s *Service) UpdateAlias(ctx context.Context, r Ref, name string, in *AliasInput) (*Alias, error) {
	in.Name = &name
	if err := checkAliasInput(in, false); err != nil {
		return nil, err
	}
	var out Alias
	_, err := s.mutate(ctx, r, func(rec *functionRecord) error {
		cur, ok := rec.Aliases[name]
		if !ok {
			return s.aliasNotFound(r, name)
		}
		if err := checkRevision(in.RevisionId, cur.Alias.RevisionId); err != nil {
			return err
		}
		a := cur.Alias
		if in.FunctionVersion != nil {
			a.FunctionVersion = *in.FunctionVersion
		}
		if in.Description != nil {
			a.Description = *in.Description
		}
		if in.RoutingConfig != nil {
			a.RoutingConfig = normalizeRouting(in.RoutingConfig)
		}
		if err := s.checkAliasTarget(ctx, rec, r, &a); err != nil {
			return err
		}
		a.RevisionId = newID()
		cur.Alias = a
		out = a
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &out, nil
}

// DeleteAlias is DeleteAlias. Deleting an alias that does not exist
// succeeds, as in Lambda.
func (s *Service) DeleteAlias(ctx context.Context, r Ref, name string) error {
	_, err := s.mutate(ctx, r, func(rec *functionRecord) error {
		if _, ok := rec.Aliases[name]; !ok {
			return errNoChange
		}
		delete(rec.Aliases, name)
		delete(rec.EventInvoke, name)
		return nil
	})
	if err == nil {
		s.dropProvisioned(ctx, r.Account, r.Name, name)
	}
	return err
}

// AliasPage is one page of ListAliases.
type AliasPage struct {
	Aliases    []Alias
	NextMarker string
}

// ListAliases is ListAliases, optionally only aliases of one version.
func (s *Service) ListAliases(ctx context.Context, r Ref, version, marker string, maxItems int) (*AliasPage, error) {
	if version != "" && !aliasVersionRe.MatchString(version) {
		return nil, validationError(constraint(version, "functionVersion", `Member must satisfy regular expression pattern: (\$LATEST|[0-9]+)`))
	}
	after, err := decodeMarker(marker)
	if err != nil {
		return nil, err
	}
	rec, _, err := s.load(ctx, r)
	if err != nil {
		return nil, err
	}
	names := sortedKeys(rec.Aliases)
	sort.Strings(names)
	var page AliasPage
	for _, n := range names {
		if after.name != "" && n <= after.name {
			continue
		}
		a := rec.Aliases[n].Alias
		if version != "" && a.FunctionVersion != version {
			if a.RoutingConfig == nil {
				continue
			}
			if _, ok := a.RoutingConfig.AdditionalVersionWeights[version]; !ok {
				continue
			}
		}
		if len(page.Aliases) == maxItems {
			page.NextMarker = encodeMarker(listMarker{name: page.Aliases[len(page.Aliases)-1].Name})
			break
		}
		page.Aliases = append(page.Aliases, a)
	}
	return &page, nil
}
