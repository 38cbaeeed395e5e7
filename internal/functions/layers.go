package functions

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/cloister/cloister/internal/awserr"
	"github.com/cloister/cloister/internal/runtimes"
	"github.com/cloister/cloister/internal/store"
)

// Layers: PublishLayerVersion, GetLayerVersion(ByArn), ListLayers,
// ListLayerVersions and DeleteLayerVersion. A layer's versions live in one
// record per layer; their content is stored with function code, content-
// addressed, and mounted read-only at /opt in the functions that name them.
// A deleted version disappears from the API but, as in Lambda, stays
// usable by the functions that already name it until none does, when the
// collector removes it and its content.

const (
	layersBucket = "lambda_layers"

	// MaxLayerRuntimes and MaxLayerArchitectures bound a layer version's
	// compatibility lists; MaxTotalUnzipped bounds a function's code and
	// layers together (250 MB, as in Lambda).
	MaxLayerRuntimes      = 15
	MaxLayerArchitectures = 2
	MaxTotalUnzipped      = 262144000
)

var (
	layerNameRe    = regexp.MustCompile(`^(?:arn:[a-zA-Z0-9-]+:lambda:[a-zA-Z0-9-]+:\d{12}:layer:[a-zA-Z0-9-_]+|[a-zA-Z0-9-_]+)$`)
	layerARNPartRe = regexp.MustCompile(`^arn:[a-zA-Z0-9-]+:lambda:([a-zA-Z0-9-]+):(\d{12}):layer:([a-zA-Z0-9-_]+)$`)
	layerVerARNRe  = regexp.MustCompile(`^arn:[a-zA-Z0-9-]+:lambda:([a-zA-Z0-9-]+):(\d{12}):layer:([a-zA-Z0-9-_]+):([0-9]+)$`)
)

const layerNamePattern = `(arn:[a-zA-Z0-9-]+:lambda:[a-zA-Z0-9-]+:\d{12}:layer:[a-zA-Z0-9-_]+)|[a-zA-Z0-9-_]+`

// LayerRef names a layer: its account and name.
type LayerRef struct {
	Account string
	Name    string
}

// ParseLayerName parses the LayerName path member, a name or a layer ARN
// (without version). account is the caller's, used for a bare name.
func ParseLayerName(id, account, region string) (LayerRef, error) {
	if id == "" || len(id) > 140 || !layerNameRe.MatchString(id) {
		return LayerRef{}, validationError(constraint(id, "layerName", "Member must satisfy regular expression pattern: "+layerNamePattern))
	}
	if m := layerARNPartRe.FindStringSubmatch(id); m != nil {
		if m[1] != region {
			return LayerRef{}, invalidParam("Layer ARN %s is not in region %s.", id, region)
		}
		return LayerRef{Account: m[2], Name: m[3]}, nil
	}
	return LayerRef{Account: account, Name: id}, nil
}

// ParseLayerVersionARN parses a layer version ARN into its layer, region
// and version.
func ParseLayerVersionARN(a string) (l LayerRef, region string, n int, ok bool) {
	m := layerVerARNRe.FindStringSubmatch(a)
	if m == nil {
		return LayerRef{}, "", 0, false
	}
	n, err := strconv.Atoi(m[4])
	if err != nil || n < 1 {
		return LayerRef{}, "", 0, false
	}
	return LayerRef{Account: m[2], Name: m[3]}, m[1], n, true
}

// LayerARN is a layer's ARN; LayerVersionARN a version's.
func LayerARN(region string, l LayerRef) string {
	return "arn:aws:lambda:" + region + ":" + l.Account + ":layer:" + l.Name
}

func LayerVersionARN(region string, l LayerRef, n int) string {
	return LayerARN(region, l) + ":" + strconv.Itoa(n)
}

// PublishLayerInput is PublishLayerVersion's request body.
type PublishLayerInput struct {
	Description             *string       `json:"Description"`
	Content                 *FunctionCode `json:"Content"`
	CompatibleRuntimes      []string      `json:"CompatibleRuntimes"`
	LicenseInfo             *string       `json:"LicenseInfo"`
	CompatibleArchitectures []string      `json:"CompatibleArchitectures"`
}

// LayerVersionContent is a version's Content member; the API layer fills in
// Location from CodeHash.
type LayerVersionContent struct {
	Location   string `json:"Location"`
	CodeSha256 string `json:"CodeSha256"`
	CodeSize   int64  `json:"CodeSize"`
}

// LayerVersionsListItem is one version in ListLayerVersions and ListLayers.
type LayerVersionsListItem struct {
	LayerVersionArn         string   `json:"LayerVersionArn"`
	Version                 int      `json:"Version"`
	Description             string   `json:"Description"`
	CreatedDate             string   `json:"CreatedDate"`
	CompatibleRuntimes      []string `json:"CompatibleRuntimes,omitempty"`
	LicenseInfo             string   `json:"LicenseInfo,omitempty"`
	CompatibleArchitectures []string `json:"CompatibleArchitectures,omitempty"`
}

// LayerVersion is PublishLayerVersion's and GetLayerVersion's output: a
// list item's members with the layer's ARN and the content.
type LayerVersion struct {
	Content  LayerVersionContent `json:"Content"`
	LayerArn string              `json:"LayerArn"`
	LayerVersionsListItem
	// CodeHash names the content in the code store (not on the wire).
	CodeHash string `json:"-"`
}

// LayersListItem is one layer in ListLayers.
type LayersListItem struct {
	LayerName             string                `json:"LayerName"`
	LayerArn              string                `json:"LayerArn"`
	LatestMatchingVersion LayerVersionsListItem `json:"LatestMatchingVersion"`
}

// layerRecord is one layer with all its versions, oldest first.
type layerRecord struct {
	Account  string                `json:"account"`
	Name     string                `json:"name"`
	Last     int                   `json:"last"` // versions are never reused
	Versions []*layerVersionRecord `json:"versions"`
}

type layerVersionRecord struct {
	Version                 int      `json:"version"`
	Description             string   `json:"description,omitempty"`
	Created                 string   `json:"created"`
	CompatibleRuntimes      []string `json:"runtimes,omitempty"`
	CompatibleArchitectures []string `json:"architectures,omitempty"`
	LicenseInfo             string   `json:"license,omitempty"`
	CodeHash                string   `json:"codeHash"`
	CodeSha256              string   `json:"codeSha256"`
	CodeSize                int64    `json:"codeSize"`
	UnzippedSize            int64    `json:"unzippedSize"`
	// Deleted versions are invisible to the API and kept for the
	// functions that still name them.
	Deleted bool `json:"deleted,omitempty"`
}

func layerKey(l LayerRef) string { return l.Account + "." + l.Name }

func layerNotFound() *awserr.Error {
	return awserr.New(awserr.ResourceNotFound, "The resource you requested does not exist.")
}

// loadLayer reads a layer's record; a missing layer is (nil, 0, nil).
func (s *Service) loadLayer(ctx context.Context, l LayerRef) (*layerRecord, uint64, error) {
	var rec layerRecord
	rev, err := s.layers.GetJSON(ctx, layerKey(l), &rec)
	if errors.Is(err, store.ErrNotFound) {
		return nil, 0, nil
	}
	if err != nil {
		return nil, 0, err
	}
	return &rec, rev, nil
}

// mutateLayer applies fn to a layer's record (nil when the layer has none)
// and writes the result with optimistic concurrency, retrying on conflict.
// Layer records are never deleted: they keep the last version number.
func (s *Service) mutateLayer(ctx context.Context, l LayerRef, fn func(*layerRecord) (*layerRecord, error)) (*layerRecord, error) {
	for attempt := 0; ; attempt++ {
		rec, rev, err := s.loadLayer(ctx, l)
		if err != nil {
			return nil, err
		}
		out, err := fn(rec)
		if err != nil {
			return nil, err
		}
		if rec == nil {
			_, err = s.layers.CreateJSON(ctx, layerKey(l), out)
		} else {
			_, err = s.layers.UpdateJSON(ctx, layerKey(l), out, rev)
		}
		if err == nil {
			return out, nil
		}
		if (!errors.Is(err, store.ErrConflict) && !errors.Is(err, store.ErrExists)) || attempt >= 20 {
			return nil, err
		}
	}
}

// PublishLayer is PublishLayerVersion.
func (s *Service) PublishLayer(ctx context.Context, caller string, l LayerRef, in *PublishLayerInput) (*LayerVersion, error) {
	if l.Account != caller {
		return nil, awserr.New(awserr.AccessDenied, "Cloister publishes layer versions only in the caller's own account (%s), not in %s.", caller, l.Account)
	}
	var v violations
	if in.Content == nil {
		v.add(nil, "content", "Member must not be null")
	}
	if in.Description != nil && len(*in.Description) > 256 {
		v.add(*in.Description, "description", "Member must have length less than or equal to 256")
	}
	if in.LicenseInfo != nil && len(*in.LicenseInfo) > 512 {
		v.add(*in.LicenseInfo, "licenseInfo", "Member must have length less than or equal to 512")
	}
	if len(in.CompatibleRuntimes) > MaxLayerRuntimes {
		v.add(in.CompatibleRuntimes, "compatibleRuntimes", fmt.Sprintf("Member must have length less than or equal to %d", MaxLayerRuntimes))
	}
	known := runtimes.Known()
	for i, r := range in.CompatibleRuntimes {
		if !slices.Contains(known, r) {
			v.add(r, fmt.Sprintf("compatibleRuntimes.%d.member", i+1), "Member must satisfy enum value set: ["+strings.Join(known, ", ")+"]")
		}
	}
	if len(in.CompatibleArchitectures) > MaxLayerArchitectures {
		v.add(in.CompatibleArchitectures, "compatibleArchitectures", fmt.Sprintf("Member must have length less than or equal to %d", MaxLayerArchitectures))
	}
	for i, a := range in.CompatibleArchitectures {
		if a != "x86_64" && a != "arm64" {
			v.add(a, fmt.Sprintf("compatibleArchitectures.%d.member", i+1), "Member must satisfy enum value set: [x86_64, arm64]")
		}
	}
	if err := v.err(); err != nil {
		return nil, err
	}
	pkg, err := s.codeFromInput(in.Content)
	if err != nil {
		return nil, err
	}
	if err := s.checkCodeStorage(ctx, caller, pkg.size); err != nil {
		return nil, err
	}
	if err := s.storeCode(ctx, pkg); err != nil {
		return nil, err
	}
	var made *layerVersionRecord
	rec, err := s.mutateLayer(ctx, l, func(rec *layerRecord) (*layerRecord, error) {
		if rec == nil {
			rec = &layerRecord{Account: l.Account, Name: l.Name}
		}
		made = &layerVersionRecord{
			Version: rec.Last + 1, Description: deref(in.Description), Created: lastModified(s.now()),
			CompatibleRuntimes: in.CompatibleRuntimes, CompatibleArchitectures: in.CompatibleArchitectures,
			LicenseInfo: deref(in.LicenseInfo), CodeHash: pkg.hash, CodeSha256: pkg.sha256,
			CodeSize: pkg.size, UnzippedSize: pkg.unzipped,
		}
		rec.Last++
		rec.Versions = append(rec.Versions, made)
		return rec, nil
	})
	if err != nil {
		return nil, err
	}
	return s.layerVersionOut(rec, made), nil
}

func (s *Service) layerVersionOut(rec *layerRecord, v *layerVersionRecord) *LayerVersion {
	l := LayerRef{Account: rec.Account, Name: rec.Name}
	return &LayerVersion{
		Content:  LayerVersionContent{CodeSha256: v.CodeSha256, CodeSize: v.CodeSize},
		LayerArn: LayerARN(s.cfg.Region, l),
		LayerVersionsListItem: LayerVersionsListItem{
			LayerVersionArn: LayerVersionARN(s.cfg.Region, l, v.Version), Version: v.Version,
			Description: v.Description, CreatedDate: v.Created, CompatibleRuntimes: v.CompatibleRuntimes,
			LicenseInfo: v.LicenseInfo, CompatibleArchitectures: v.CompatibleArchitectures,
		},
		CodeHash: v.CodeHash,
	}
}

// findVersion returns version n of rec, deleted ones included.
func (rec *layerRecord) findVersion(n int) *layerVersionRecord {
	if rec == nil {
		return nil
	}
	for _, v := range rec.Versions {
		if v.Version == n {
			return v
		}
	}
	return nil
}

// GetLayerVersion is GetLayerVersion (and, with the ARN parsed, ByArn).
func (s *Service) GetLayerVersion(ctx context.Context, l LayerRef, n int) (*LayerVersion, error) {
	rec, _, err := s.loadLayer(ctx, l)
	if err != nil {
		return nil, err
	}
	v := rec.findVersion(n)
	if v == nil || v.Deleted {
		return nil, layerNotFound()
	}
	return s.layerVersionOut(rec, v), nil
}

// DeleteLayerVersion is DeleteLayerVersion: idempotent, as in Lambda.
func (s *Service) DeleteLayerVersion(ctx context.Context, caller string, l LayerRef, n int) error {
	if l.Account != caller {
		return awserr.New(awserr.AccessDenied, "Cloister deletes layer versions only in the caller's own account (%s), not in %s.", caller, l.Account)
	}
	_, err := s.mutateLayer(ctx, l, func(rec *layerRecord) (*layerRecord, error) {
		v := rec.findVersion(n)
		if v == nil || v.Deleted {
			return rec, errUnchanged
		}
		v.Deleted = true
		return rec, nil
	})
	if errors.Is(err, errUnchanged) {
		return nil
	}
	if err == nil {
		s.kickGC()
	}
	return err
}

// errUnchanged ends a mutateLayer that has nothing to write.
var errUnchanged = errors.New("unchanged")

// LayerFilter is ListLayers' and ListLayerVersions' compatibility filter.
type LayerFilter struct {
	Runtime      string
	Architecture string
}

func (f LayerFilter) check() error {
	var v violations
	if f.Runtime != "" && !slices.Contains(runtimes.Known(), f.Runtime) {
		v.add(f.Runtime, "compatibleRuntime", "Member must satisfy enum value set: ["+strings.Join(runtimes.Known(), ", ")+"]")
	}
	if f.Architecture != "" && f.Architecture != "x86_64" && f.Architecture != "arm64" {
		v.add(f.Architecture, "compatibleArchitecture", "Member must satisfy enum value set: [x86_64, arm64]")
	}
	return v.err()
}

func (f LayerFilter) match(v *layerVersionRecord) bool {
	if v.Deleted {
		return false
	}
	if f.Runtime != "" && !slices.Contains(v.CompatibleRuntimes, f.Runtime) {
		return false
	}
	return f.Architecture == "" || slices.Contains(v.CompatibleArchitectures, f.Architecture)
}

// ListLayerVersions lists a layer's versions, newest first.
func (s *Service) ListLayerVersions(ctx context.Context, l LayerRef, f LayerFilter, marker string, max int) ([]LayerVersionsListItem, string, error) {
	if err := f.check(); err != nil {
		return nil, "", err
	}
	from := 0
	if marker != "" {
		n, err := strconv.Atoi(marker)
		if err != nil || n < 1 {
			return nil, "", invalidParam("Invalid marker: %s", marker)
		}
		from = n
	}
	rec, _, err := s.loadLayer(ctx, l)
	if err != nil {
		return nil, "", err
	}
	out := []LayerVersionsListItem{}
	if rec == nil {
		return out, "", nil
	}
	for i := len(rec.Versions) - 1; i >= 0; i-- {
		v := rec.Versions[i]
		if (from > 0 && v.Version >= from) || !f.match(v) {
			continue
		}
		if len(out) == max {
			return out, strconv.Itoa(out[len(out)-1].Version), nil
		}
		out = append(out, s.layerVersionOut(rec, v).LayerVersionsListItem)
	}
	return out, "", nil
}

// ListLayers lists the caller's layers that have a version matching f, by
// name, each with its newest matching version.
func (s *Service) ListLayers(ctx context.Context, account string, f LayerFilter, marker string, max int) ([]LayersListItem, string, error) {
	if err := f.check(); err != nil {
		return nil, "", err
	}
	keys, err := s.layers.Keys(ctx, account+".*")
	if err != nil {
		return nil, "", err
	}
	sort.Strings(keys)
	out := []LayersListItem{}
	for _, k := range keys {
		name := strings.TrimPrefix(k, account+".")
		if marker != "" && name <= marker {
			continue
		}
		rec, _, err := s.loadLayer(ctx, LayerRef{Account: account, Name: name})
		if err != nil {
			return nil, "", err
		}
		if rec == nil {
			continue
		}
		for i := len(rec.Versions) - 1; i >= 0; i-- {
			if v := rec.Versions[i]; f.match(v) {
				if len(out) == max {
					return out, out[len(out)-1].LayerName, nil
				}
				lv := s.layerVersionOut(rec, v)
				out = append(out, LayersListItem{LayerName: name, LayerArn: lv.LayerArn, LatestMatchingVersion: lv.LayerVersionsListItem})
				break
			}
		}
	}
	return out, "", nil
}

// LayerContent is what a function's environment needs of one of its layers.
type LayerContent struct {
	Arn          string
	CodeHash     string
	CodeSize     int64
	UnzippedSize int64
}

// ResolveLayers looks up the layer versions a function of account names, in
// order. Versions deleted since the function named them still resolve (the
// function keeps working, as in Lambda) only when allowDeleted is set: a
// new reference to a deleted version is refused.
func (s *Service) ResolveLayers(ctx context.Context, account string, arns []string, allowDeleted bool) ([]LayerContent, error) {
	out := make([]LayerContent, 0, len(arns))
	seen := map[string]string{}
	for _, a := range arns {
		l, region, n, ok := ParseLayerVersionARN(a)
		if !ok {
			return nil, invalidParam("Layer version %s does not exist.", a)
		}
		if prev, dup := seen[layerKey(l)]; dup {
			return nil, invalidParam("Two different versions of the same layer are not allowed: %s and %s.", prev, a)
		}
		seen[layerKey(l)] = a
		if region != s.cfg.Region {
			return nil, invalidParam("Layers are only supported in the function's region: %s is not in %s.", a, s.cfg.Region)
		}
		if l.Account != account {
			return nil, awserr.New(awserr.AccessDenied, "Cloister functions may name only their own account's layers: %s belongs to %s.", a, l.Account)
		}
		rec, _, err := s.loadLayer(ctx, l)
		if err != nil {
			return nil, err
		}
		v := rec.findVersion(n)
		if v == nil || (v.Deleted && !allowDeleted) {
			return nil, invalidParam("Layer version %s does not exist.", a)
		}
		out = append(out, LayerContent{Arn: a, CodeHash: v.CodeHash, CodeSize: v.CodeSize, UnzippedSize: v.UnzippedSize})
	}
	return out, nil
}

// checkTotalSize enforces Lambda's 250 MB bound on a function's unzipped
// code and layers together.
func checkTotalSize(code int64, layers []LayerContent) error {
	total := code
	for _, l := range layers {
		total += l.UnzippedSize
	}
	if total > MaxTotalUnzipped {
		return invalidParam("Function code combined with layers exceeds the maximum allowed size of %d bytes. The actual size is %d bytes.", MaxTotalUnzipped, total)
	}
	return nil
}

// checkLayersWith checks that a function's layers still fit beside new code
// of unzipped bytes.
func (s *Service) checkLayersWith(ctx context.Context, account string, layers []Layer, unzipped int64) error {
	if len(layers) == 0 {
		return nil
	}
	arns := make([]string, len(layers))
	for i, l := range layers {
		arns[i] = l.Arn
	}
	resolved, err := s.ResolveLayers(ctx, account, arns, true)
	if err != nil {
		return err
	}
	return checkTotalSize(unzipped, resolved)
}

func configLayers(ls []LayerContent) []Layer {
	if len(ls) == 0 {
		return nil
	}
	out := make([]Layer, len(ls))
	for i, l := range ls {
		out[i] = Layer{Arn: l.Arn, CodeSize: l.CodeSize}
	}
	return out
}
