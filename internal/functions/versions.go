package functions

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"time"

	"github.com/cloister/cloister/internal/awserr"
)

// PublishInput is PublishVersion's body.
type PublishInput struct {
	CodeSha256  *string `json:"CodeSha256"`
	Description *string `json:"Description"`
	RevisionId  *string `json:"RevisionId"`
}

// fingerprint identifies $LATEST's code and configuration, ignoring the
// members that change without a user change (revision, state, timestamps).
func fingerprint(c *Configuration) string {
	x := *c
	x.RevisionId, x.LastModified, x.State, x.StateReason, x.StateReasonCode = "", "", "", "", ""
	x.LastUpdateStatus, x.LastUpdateStatusReason, x.LastUpdateStatusReasonCode = "", "", ""
	b, _ := json.Marshal(x)
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// snapshot makes version n from $LATEST.
func (s *Service) snapshot(rec *functionRecord, n int) *versionRecord {
	cfg := rec.Latest
	cfg.Version = fmt.Sprint(n)
	cfg.FunctionArn = QualifiedARN(s.cfg.Region, rec.Account, cfg.FunctionName, cfg.Version)
	cfg.RevisionId = newID()
	cfg.LastModified = lastModified(s.now())
	return &versionRecord{
		Incarnation:  rec.Incarnation,
		Config:       cfg,
		CodeHash:     rec.CodeHash,
		UnzippedSize: rec.UnzippedSize,
		Created:      s.now(),
	}
}

// Publish is PublishVersion. If neither code nor configuration changed since
// the last published version, that version is returned again, as Lambda does.
func (s *Service) Publish(ctx context.Context, r Ref, in *PublishInput) (*Configuration, error) {
	if r.Qualifier != "" {
		return nil, invalidParam("Unsupported function name format: %s:%s. Versions are published from the unqualified function.", r.Name, r.Qualifier)
	}
	if in.Description != nil && len(*in.Description) > 256 {
		return nil, validationError(constraint(*in.Description, "description", "Member must have length less than or equal to 256"))
	}
	var (
		existing int
		created  *versionRecord
	)
	_, err := s.mutate(ctx, r, func(rec *functionRecord) error {
		existing, created = 0, nil
		if err := checkRevision(in.RevisionId, rec.Latest.RevisionId); err != nil {
			return err
		}
		if err := s.busy(rec); err != nil {
			return err
		}
		if in.CodeSha256 != nil && *in.CodeSha256 != rec.Latest.CodeSha256 {
			return invalidParam("CodeSHA256 (%s) is different from current CodeSHA256 in $LATEST (%s). Please try again with the current CodeSHA256.", *in.CodeSha256, rec.Latest.CodeSha256)
		}
		fp := fingerprint(&rec.Latest)
		if rec.LastVersion > 0 && rec.Published == fp {
			if _, _, err := s.loadVersion(ctx, rec, r, rec.LastVersion); err == nil {
				existing = rec.LastVersion
				return errNoChange
			}
		}
		n := rec.LastVersion + 1
		created = s.snapshot(rec, n)
		if in.Description != nil {
			created.Config.Description = *in.Description
		}
		rec.LastVersion = n
		rec.Versions = append(rec.Versions, n)
		rec.VersionsCodeSize += rec.Latest.CodeSize
		rec.Published = fp
		return nil
	})
	if err != nil {
		return nil, err
	}
	if existing > 0 {
		rec, _, err := s.load(ctx, r)
		if err != nil {
			return nil, err
		}
		v, _, err := s.loadVersion(ctx, rec, r, existing)
		if err != nil {
			return nil, err
		}
		return &v.Config, nil
	}
	n := versionIndex(created.Config.Version)
	if _, err := s.versions.PutJSON(ctx, versionKey(r.Account, r.Name, n), created); err != nil {
		return nil, err
	}
	return &created.Config, nil
}

// publishWhenReady waits for a pending update of $LATEST to finish and then
// publishes it (UpdateFunctionCode with Publish).
func (s *Service) publishWhenReady(ctx context.Context, r Ref, description string) (*Configuration, error) {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	delay := 2 * time.Millisecond
	for {
		rec, _, err := s.load(ctx, r)
		if err != nil {
			return nil, err
		}
		if rec.Latest.LastUpdateStatus != UpdateInProcess {
			break
		}
		select {
		case <-ctx.Done():
			return nil, awserr.Wrap(awserr.ResourceConflict, ctx.Err(), "The operation cannot be performed at this time. An update is in progress for resource: "+rec.Latest.FunctionArn)
		case <-time.After(delay):
		}
		delay = min(delay*2, 200*time.Millisecond)
	}
	in := &PublishInput{}
	if description != "" {
		in.Description = &description
	}
	return s.Publish(ctx, r, in)
}

// ListVersions is ListVersionsByFunction: $LATEST, then versions in order.
func (s *Service) ListVersions(ctx context.Context, r Ref, marker string, maxItems int) (*ListPage, error) {
	if r.Qualifier != "" {
		return nil, invalidParam("Unsupported function name format: %s:%s.", r.Name, r.Qualifier)
	}
	after, err := decodeMarker(marker)
	if err != nil {
		return nil, err
	}
	rec, _, err := s.load(ctx, r)
	if err != nil {
		return nil, err
	}
	vs, err := s.versionConfigs(ctx, rec, r.Account, r.Name)
	if err != nil {
		return nil, err
	}
	items := append([]Configuration{rec.Latest}, vs...)
	var page ListPage
	last := -1
	for _, it := range items {
		idx := versionIndex(it.Version)
		if after.name != "" && idx <= after.index {
			continue
		}
		if len(page.Items) == maxItems {
			page.NextMarker = encodeMarker(listMarker{name: r.Name, index: last})
			break
		}
		page.Items = append(page.Items, it)
		last = idx
	}
	return &page, nil
}

// Resolve is the data plane's lookup: the configuration an Invoke of r runs,
// with an alias's weighted routing applied (pick chooses among versions
// given their weights; nil picks the primary).
func (s *Service) Resolve(ctx context.Context, r Ref, pick func(primary string, weights map[string]float64) string) (*Function, error) {
	rec, err := s.cachedRecord(ctx, r)
	if err != nil {
		return nil, err
	}
	version := ""
	if a, ok := rec.Aliases[r.Qualifier]; ok && pick != nil && a.Alias.RoutingConfig != nil && len(a.Alias.RoutingConfig.AdditionalVersionWeights) > 0 {
		version = pick(a.Alias.FunctionVersion, a.Alias.RoutingConfig.AdditionalVersionWeights)
	}
	fn, err := s.resolve(ctx, rec, r, version)
	if err != nil {
		return nil, err
	}
	fn.Reserved = s.cachedReserved(r.Account, r.Name)
	return fn, nil
}
