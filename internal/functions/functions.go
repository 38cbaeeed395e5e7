package functions

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/cloister/cloister/internal/awserr"
	"github.com/cloister/cloister/internal/codezip"
	"github.com/cloister/cloister/internal/runtimes"
	"github.com/cloister/cloister/internal/store"
)

// Lambda's state vocabulary.
const (
	StatePending    = "Pending"
	StateActive     = "Active"
	StateFailed     = "Failed"
	UpdateInProcess = "InProgress"
	UpdateSucceeded = "Successful"
	UpdateFailed    = "Failed"
)

// codePackage is a validated deployment package.
type codePackage struct {
	zip      []byte
	hash     string // hex
	sha256   string // base64, as CodeSha256
	size     int64
	unzipped int64
}

// checkCode validates a zip upload and maps its problems to Lambda's errors.
func checkCode(zip []byte) (*codePackage, error) {
	if len(zip) > MaxZippedSize {
		return nil, awserr.New(awserr.RequestEntityTooLarge, "Zipped size must be smaller than %d bytes", MaxZippedSize)
	}
	lim := codezip.DefaultLimits()
	info, err := codezip.Validate(zip, lim)
	if err != nil {
		msg := "Could not unzip uploaded file. Please check your file, then try to upload again."
		var ze *codezip.Error
		if errors.As(err, &ze) {
			msg = ze.Message()
		}
		if errors.Is(err, codezip.ErrTooLarge) {
			return nil, awserr.Wrap(awserr.RequestEntityTooLarge, err, fmt.Sprintf("Zipped size must be smaller than %d bytes", MaxZippedSize))
		}
		// Not a zip, unsafe paths or links, special files, bombs and
		// oversized contents are all the caller's to fix.
		return nil, awserr.Wrap(awserr.InvalidParameterValue, err, msg)
	}
	return &codePackage{
		zip:      zip,
		hash:     hex.EncodeToString(info.SHA256[:]),
		sha256:   info.CodeSha256(),
		size:     info.Size,
		unzipped: info.UnzippedSize,
	}, nil
}

// storeCode makes the package durable (idempotent: content-addressed).
func (s *Service) storeCode(ctx context.Context, pkg *codePackage) error {
	ok, err := s.code.Has(ctx, pkg.hash)
	if err != nil {
		return err
	}
	if ok {
		return nil
	}
	return s.code.Put(ctx, pkg.hash, bytes.NewReader(pkg.zip))
}

// Code returns a stored deployment package by its hex SHA-256.
func (s *Service) Code(ctx context.Context, hash string) ([]byte, error) {
	data, err := s.code.Get(ctx, hash)
	if errors.Is(err, store.ErrNotFound) {
		return nil, awserr.New(awserr.ResourceNotFound, "The resource you requested does not exist.")
	}
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256(data)
	if hex.EncodeToString(sum[:]) != hash {
		return nil, fmt.Errorf("functions: code %s is corrupt", hash)
	}
	return data, nil
}

// RoleCheck verifies that the caller may give a function this execution
// role: it exists, trusts Lambda, and the caller may pass it.
type RoleCheck func(ctx context.Context, role string) error

// Create is CreateFunction.
func (s *Service) Create(ctx context.Context, account string, in *CreateInput, checkRole RoleCheck) (*Configuration, error) {
	var v violations
	if in.FunctionName == nil {
		v.add(nil, "functionName", "Member must not be null")
	}
	if in.Role == nil {
		v.add(nil, "role", "Member must not be null")
	}
	if in.Code == nil {
		v.add(nil, "code", "Member must not be null")
	}
	c := common{Role: in.Role, Handler: in.Handler, Description: in.Description, Timeout: in.Timeout,
		MemorySize: in.MemorySize, Runtime: in.Runtime, Environment: in.Environment,
		EphemeralStorage: in.EphemeralStorage, TracingConfig: in.TracingConfig, LoggingConfig: in.LoggingConfig,
		DeadLetterConfig: in.DeadLetterConfig, Layers: in.Layers, VpcConfig: in.VpcConfig, KMSKeyArn: in.KMSKeyArn,
		FileSystems: in.FileSystemConfigs, ImageConfig: in.ImageConfig, SnapStart: in.SnapStart}
	c.checkModel(&v)
	checkArchitectures(in.Architectures, &v)
	if in.PackageType != nil && *in.PackageType != "Zip" && *in.PackageType != "Image" {
		v.add(*in.PackageType, "packageType", "Member must satisfy enum value set: [Zip, Image]")
	}
	var ref Ref
	if in.FunctionName != nil {
		r, err := ParseRef(*in.FunctionName, "", account, s.cfg.Region)
		if err != nil {
			return nil, err
		}
		if r.Qualifier != "" {
			return nil, invalidParam("Unsupported function name format: %s. Function names cannot be qualified when creating a function.", *in.FunctionName)
		}
		ref = r
	}
	if err := v.err(); err != nil {
		return nil, err
	}
	if ref.Account != account {
		return nil, invalidParam("Functions can only be created in the caller's account (%s).", account)
	}
	if in.PackageType != nil && *in.PackageType == "Image" {
		return nil, invalidParam("PackageType Image is not supported by this Cloister server; upload a .zip file archive.")
	}
	if in.Runtime == nil || in.Handler == nil {
		return nil, invalidParam("Runtime and Handler are mandatory parameters for functions created with deployment packages.")
	}
	if err := c.checkSemantics(s.cfg.Runtimes); err != nil {
		return nil, err
	}
	if err := checkHostArchitecture(in.Architectures); err != nil {
		return nil, err
	}
	if len(in.Tags) > MaxTags {
		return nil, invalidParam("Number of tags exceeds resource tag limit.")
	}
	if err := checkTags(in.Tags); err != nil {
		return nil, err
	}
	if in.CodeSigningConfigArn != nil && *in.CodeSigningConfigArn != "" {
		return nil, awserr.New(awserr.CodeSigningConfigNotFound, "The code signing configuration cannot be found. Check that the provided configuration is not deleted: %s.", *in.CodeSigningConfigArn)
	}
	pkg, err := s.codeFromInput(in.Code)
	if err != nil {
		return nil, err
	}
	layers, err := s.ResolveLayers(ctx, account, c.Layers, false)
	if err != nil {
		return nil, err
	}
	if err := checkTotalSize(pkg.unzipped, layers); err != nil {
		return nil, err
	}
	if err := checkRole(ctx, *in.Role); err != nil {
		return nil, err
	}
	if err := s.checkCodeStorage(ctx, account, pkg.size); err != nil {
		return nil, err
	}

	now := s.now()
	cfg := Configuration{
		FunctionName:     ref.Name,
		FunctionArn:      FunctionARN(s.cfg.Region, account, ref.Name),
		Runtime:          *in.Runtime,
		Role:             *in.Role,
		Handler:          *in.Handler,
		CodeSize:         pkg.size,
		Description:      deref(in.Description),
		Timeout:          derefInt(in.Timeout, DefaultTimeout),
		MemorySize:       derefInt(in.MemorySize, DefaultMemory),
		LastModified:     lastModified(now),
		CodeSha256:       pkg.sha256,
		Version:          LatestVersion,
		TracingConfig:    TracingConfig{Mode: "PassThrough"},
		RevisionId:       newID(),
		State:            StatePending,
		StateReason:      "The function is being created.",
		StateReasonCode:  "Creating",
		PackageType:      "Zip",
		Architectures:    []string{hostArchitecture()},
		EphemeralStorage: EphemeralStorage{Size: DefaultEphemeral},
		SnapStart:        SnapStartResponse{ApplyOn: "None", OptimizationStatus: "Off"},
		LoggingConfig:    LoggingConfig{LogFormat: "Text", LogGroup: "/aws/lambda/" + ref.Name},
	}
	if in.Architectures != nil {
		cfg.Architectures = in.Architectures
	}
	applyCommon(&cfg, &c)
	cfg.Layers = configLayers(layers)
	rec := &functionRecord{
		Incarnation:  newID(),
		Account:      account,
		Latest:       cfg,
		CodeHash:     pkg.hash,
		UnzippedSize: pkg.unzipped,
		Tags:         in.Tags,
	}
	var published *versionRecord
	if in.Publish {
		published = s.snapshot(rec, 1)
		rec.LastVersion = 1
		rec.Versions = []int{1}
		rec.VersionsCodeSize = pkg.size
		rec.Published = fingerprint(&rec.Latest)
	}
	if err := s.storeCode(ctx, pkg); err != nil {
		return nil, err
	}
	if published != nil {
		// Write the version first: if we crash before the function record
		// exists, the version's incarnation matches nothing and is collected.
		if _, err := s.versions.PutJSON(ctx, versionKey(account, ref.Name, 1), published); err != nil {
			return nil, err
		}
	}
	data, err := json.Marshal(rec)
	if err != nil {
		return nil, fmt.Errorf("functions: encode %s: %w", ref.Name, err)
	}
	key := functionKey(account, ref.Name)
	rev, err := s.functions.Create(ctx, key, data)
	if err != nil {
		if errors.Is(err, store.ErrExists) {
			return nil, awserr.New(awserr.ResourceConflict, "Function already exist: %s", ref.Name)
		}
		return nil, err
	}
	s.noteFunction(key, data, rev)
	s.enqueuePrepare(functionKey(account, ref.Name))
	if published != nil {
		out := published.Config
		return &out, nil
	}
	return &rec.Latest, nil
}

// codeFromInput accepts a zip upload; Cloister has no S3 or image registry.
func (s *Service) codeFromInput(code *FunctionCode) (*codePackage, error) {
	switch {
	case code.S3Bucket != "" || code.S3Key != "" || code.S3ObjectVersion != "":
		return nil, invalidParam("S3 code locations are not supported by this Cloister server; upload the package as ZipFile.")
	case code.ImageUri != "":
		return nil, invalidParam("Container images are not supported by this Cloister server; upload the package as ZipFile.")
	case code.ZipFile == nil:
		return nil, invalidParam("Please provide a source for function code.")
	}
	return checkCode(code.ZipFile)
}

// applyCommon copies the members given in c into cfg.
func applyCommon(cfg *Configuration, c *common) {
	if c.Role != nil {
		cfg.Role = *c.Role
	}
	if c.Handler != nil {
		cfg.Handler = *c.Handler
	}
	if c.Description != nil {
		cfg.Description = *c.Description
	}
	if c.Timeout != nil {
		cfg.Timeout = *c.Timeout
	}
	if c.MemorySize != nil {
		cfg.MemorySize = *c.MemorySize
	}
	if c.Runtime != nil {
		cfg.Runtime = *c.Runtime
	}
	if c.Environment != nil {
		if len(c.Environment.Variables) == 0 {
			cfg.Environment = nil
		} else {
			cfg.Environment = &EnvironmentResponse{Variables: c.Environment.Variables}
		}
	}
	if c.EphemeralStorage != nil {
		cfg.EphemeralStorage = *c.EphemeralStorage
	}
	if c.TracingConfig != nil && c.TracingConfig.Mode != "" {
		cfg.TracingConfig = *c.TracingConfig
	}
	if c.LoggingConfig != nil {
		lc := *c.LoggingConfig
		if lc.LogFormat == "" {
			lc.LogFormat = cfg.LoggingConfig.LogFormat
		}
		if lc.LogGroup == "" {
			lc.LogGroup = "/aws/lambda/" + cfg.FunctionName
		}
		if lc.LogFormat == "JSON" {
			if lc.ApplicationLogLevel == "" {
				lc.ApplicationLogLevel = "INFO"
			}
			if lc.SystemLogLevel == "" {
				lc.SystemLogLevel = "INFO"
			}
		}
		cfg.LoggingConfig = lc
	}
	if c.DeadLetterConfig != nil {
		if c.DeadLetterConfig.TargetArn == "" {
			cfg.DeadLetterConfig = nil
		} else {
			d := *c.DeadLetterConfig
			cfg.DeadLetterConfig = &d
		}
	}
}

// checkCodeStorage enforces the account's total code storage quota.
func (s *Service) checkCodeStorage(ctx context.Context, account string, adding int64) error {
	usage, err := s.usage(ctx, account)
	if err != nil {
		return err
	}
	if usage.TotalCodeSize+adding > MaxTotalCodeSize {
		return awserr.New(awserr.CodeStorageExceeded, "Code storage limit exceeded.")
	}
	return nil
}

// Function is a resolved function version, as Get and the data plane see it.
type Function struct {
	Config Configuration
	// CodeHash is the hex SHA-256 of the deployment package.
	CodeHash string
	// Alias is the alias the request named, if any.
	Alias string
	// Incarnation distinguishes this function from a deleted namesake.
	Incarnation string
	Tags        map[string]string
	Reserved    *int
}

// Get is GetFunction/GetFunctionConfiguration: the configuration of $LATEST,
// a version, or the version an alias points to (its primary version).
func (s *Service) Get(ctx context.Context, r Ref) (*Function, error) {
	rec, _, err := s.load(ctx, r)
	if err != nil {
		return nil, err
	}
	fn, err := s.resolve(ctx, rec, r, "")
	if err != nil {
		return nil, err
	}
	if r.Qualifier != "" {
		// Lambda answers a qualified request with the ARN as asked:
		// name:$LATEST, name:1 or name:alias (whose Version is the
		// alias's target).
		fn.Config.FunctionArn = r.ARN(s.cfg.Region)
	}
	fn.Tags = rec.Tags
	reserved, err := s.reservedFor(ctx, r.Account, r.Name)
	if err != nil {
		return nil, err
	}
	fn.Reserved = reserved
	return fn, nil
}

// resolve finds the configuration a qualifier names. version, when not
// empty, overrides an alias's primary version (weighted routing).
func (s *Service) resolve(ctx context.Context, rec *functionRecord, r Ref, version string) (*Function, error) {
	q := r.Qualifier
	fn := &Function{Incarnation: rec.Incarnation}
	if a, ok := rec.Aliases[q]; ok && !isVersion(q) && q != LatestVersion {
		fn.Alias = q
		q = a.Alias.FunctionVersion
		if version != "" {
			q = version
		}
	} else if q != "" && q != LatestVersion && !isVersion(q) {
		return nil, s.notFound(r)
	}
	if q == "" || q == LatestVersion {
		fn.Config = rec.Latest
		fn.CodeHash = rec.CodeHash
		return fn, nil
	}
	var n int
	fmt.Sscanf(q, "%d", &n)
	v, err := s.cachedVersion(ctx, rec, Ref{Account: r.Account, Name: r.Name, Qualifier: q}, n)
	if err != nil {
		if awserr.IsType(err, awserr.ResourceNotFound) {
			return nil, s.notFound(r)
		}
		return nil, err
	}
	fn.Config = v.Config
	fn.CodeHash = v.CodeHash
	return fn, nil
}

// busy rejects changes while the function is being created or updated.
func (s *Service) busy(rec *functionRecord) error {
	if rec.Latest.State == StatePending || rec.Latest.State == StateFailed && rec.Latest.LastUpdateStatus == "" {
		return awserr.New(awserr.ResourceConflict, "The operation cannot be performed at this time. The function is currently in the following state: %s", rec.Latest.State)
	}
	if rec.Latest.LastUpdateStatus == UpdateInProcess {
		return awserr.New(awserr.ResourceConflict, "The operation cannot be performed at this time. An update is in progress for resource: %s", rec.Latest.FunctionArn)
	}
	return nil
}

// markUpdating puts $LATEST into LastUpdateStatus InProgress with a new
// revision; the prepare worker completes the update.
func (s *Service) markUpdating(rec *functionRecord) {
	rec.Latest.LastModified = lastModified(s.now())
	rec.Latest.RevisionId = newID()
	rec.Latest.LastUpdateStatus = UpdateInProcess
	rec.Latest.LastUpdateStatusReason = "The function is being created."
	rec.Latest.LastUpdateStatusReasonCode = "Creating"
}

// UpdateCode is UpdateFunctionCode.
func (s *Service) UpdateCode(ctx context.Context, r Ref, in *UpdateCodeInput) (*Configuration, error) {
	if r.Qualifier != "" {
		return nil, invalidParam("Unsupported function name format: %s:%s. Function names cannot be qualified when updating code.", r.Name, r.Qualifier)
	}
	var v violations
	checkArchitectures(in.Architectures, &v)
	if err := v.err(); err != nil {
		return nil, err
	}
	if err := checkHostArchitecture(in.Architectures); err != nil {
		return nil, err
	}
	code := &FunctionCode{ZipFile: in.ZipFile, S3Bucket: deref(in.S3Bucket), S3Key: deref(in.S3Key),
		S3ObjectVersion: deref(in.S3ObjectVersion), ImageUri: deref(in.ImageUri)}
	pkg, err := s.codeFromInput(code)
	if err != nil {
		return nil, err
	}
	if in.DryRun {
		rec, _, err := s.load(ctx, r)
		if err != nil {
			return nil, err
		}
		if err := checkRevision(in.RevisionId, rec.Latest.RevisionId); err != nil {
			return nil, err
		}
		out := rec.Latest
		out.CodeSha256, out.CodeSize = pkg.sha256, pkg.size
		return &out, nil
	}
	if err := s.checkCodeStorage(ctx, r.Account, pkg.size); err != nil {
		return nil, err
	}
	if err := s.storeCode(ctx, pkg); err != nil {
		return nil, err
	}
	rec, err := s.mutate(ctx, r, func(rec *functionRecord) error {
		if err := checkRevision(in.RevisionId, rec.Latest.RevisionId); err != nil {
			return err
		}
		if err := s.busy(rec); err != nil {
			return err
		}
		if runtimes.UpdateBlocked(rec.Latest.Runtime) {
			return deprecatedRuntime(rec.Latest.Runtime)
		}
		if err := s.checkLayersWith(ctx, r.Account, rec.Latest.Layers, pkg.unzipped); err != nil {
			return err
		}
		rec.CodeHash = pkg.hash
		rec.UnzippedSize = pkg.unzipped
		rec.Latest.CodeSha256 = pkg.sha256
		rec.Latest.CodeSize = pkg.size
		if in.Architectures != nil {
			rec.Latest.Architectures = in.Architectures
		}
		s.markUpdating(rec)
		return nil
	})
	if err != nil {
		return nil, err
	}
	s.changed(r.Account, r.Name, false)
	s.enqueuePrepare(functionKey(r.Account, r.Name))
	s.kickGC()
	if in.Publish {
		return s.publishWhenReady(ctx, r, "")
	}
	return &rec.Latest, nil
}

// UpdateConfig is UpdateFunctionConfiguration.
func (s *Service) UpdateConfig(ctx context.Context, r Ref, in *UpdateConfigInput, checkRole RoleCheck) (*Configuration, error) {
	if r.Qualifier != "" {
		return nil, invalidParam("Unsupported function name format: %s:%s. Function names cannot be qualified when updating configuration.", r.Name, r.Qualifier)
	}
	c := common{Role: in.Role, Handler: in.Handler, Description: in.Description, Timeout: in.Timeout,
		MemorySize: in.MemorySize, Runtime: in.Runtime, Environment: in.Environment,
		EphemeralStorage: in.EphemeralStorage, TracingConfig: in.TracingConfig, LoggingConfig: in.LoggingConfig,
		DeadLetterConfig: in.DeadLetterConfig, Layers: in.Layers, VpcConfig: in.VpcConfig, KMSKeyArn: in.KMSKeyArn,
		FileSystems: in.FileSystemConfigs, ImageConfig: in.ImageConfig, SnapStart: in.SnapStart}
	var v violations
	c.checkModel(&v)
	if err := v.err(); err != nil {
		return nil, err
	}
	if err := c.checkSemantics(s.cfg.Runtimes); err != nil {
		return nil, err
	}
	if in.Role != nil {
		if err := checkRole(ctx, *in.Role); err != nil {
			return nil, err
		}
	}
	layers, err := s.ResolveLayers(ctx, r.Account, c.Layers, false)
	if err != nil {
		return nil, err
	}
	rec, err := s.mutate(ctx, r, func(rec *functionRecord) error {
		if err := checkRevision(in.RevisionId, rec.Latest.RevisionId); err != nil {
			return err
		}
		if err := s.busy(rec); err != nil {
			return err
		}
		if c.Runtime == nil && runtimes.UpdateBlocked(rec.Latest.Runtime) {
			return deprecatedRuntime(rec.Latest.Runtime)
		}
		if c.LoggingConfig != nil && c.LoggingConfig.LogFormat == "" && rec.Latest.LoggingConfig.LogFormat != "JSON" &&
			(c.LoggingConfig.ApplicationLogLevel != "" || c.LoggingConfig.SystemLogLevel != "") {
			return invalidParam("Function log levels can only be set when the function's log format is JSON.")
		}
		if c.Layers != nil {
			if err := checkTotalSize(rec.UnzippedSize, layers); err != nil {
				return err
			}
			rec.Latest.Layers = configLayers(layers)
		}
		applyCommon(&rec.Latest, &c)
		s.markUpdating(rec)
		return nil
	})
	if err != nil {
		return nil, err
	}
	s.changed(r.Account, r.Name, false)
	s.enqueuePrepare(functionKey(r.Account, r.Name))
	return &rec.Latest, nil
}

// Delete is DeleteFunction: the whole function, or one version.
func (s *Service) Delete(ctx context.Context, r Ref) error {
	switch {
	case r.Qualifier == LatestVersion:
		return invalidParam("$LATEST version cannot be deleted without deleting the function.")
	case r.Qualifier != "" && !isVersion(r.Qualifier):
		return invalidParam("Deletion of aliases is not supported. Use DeleteAlias to delete the alias %s.", r.Qualifier)
	case r.Qualifier != "":
		return s.deleteVersion(ctx, r)
	}
	// Release the concurrency reservation first: if we crash after it, the
	// function still exists and a retried delete completes.
	if _, _, err := s.load(ctx, r); err != nil {
		return err
	}
	if err := s.setReserved(ctx, r.Account, r.Name, nil); err != nil {
		return err
	}
	// The record may change under us (the background worker finishing a
	// creation, say): delete whatever revision is current.
	var rec *functionRecord
	var rev uint64
	for attempt := 0; ; attempt++ {
		var err error
		rec, rev, err = s.load(ctx, r)
		if err != nil {
			return err
		}
		err = s.functions.Delete(ctx, functionKey(r.Account, r.Name), rev)
		if err == nil {
			break
		}
		if !errors.Is(err, store.ErrConflict) || attempt >= 20 {
			return err
		}
	}
	s.noteFunction(functionKey(r.Account, r.Name), nil, rev+1)
	s.dropProvisioned(ctx, r.Account, r.Name, "")
	// The function is gone; its versions are now unreachable (incarnation
	// mismatch) and are removed here or by the collector.
	for _, n := range rec.Versions {
		s.versionsC.Delete(versionKey(r.Account, r.Name, n))
		if err := s.versions.Delete(ctx, versionKey(r.Account, r.Name, n), 0); err != nil {
			s.log.Warn("delete version record", "function", r.Name, "version", n, "err", err)
		}
	}
	s.changed(r.Account, r.Name, true)
	s.kickGC()
	return nil
}

func (s *Service) deleteVersion(ctx context.Context, r Ref) error {
	var n int
	fmt.Sscanf(r.Qualifier, "%d", &n)
	_, err := s.mutate(ctx, r, func(rec *functionRecord) error {
		v, _, err := s.loadVersion(ctx, rec, r, n)
		if err != nil {
			return err
		}
		rec.VersionsCodeSize -= v.Config.CodeSize
		var users []string
		for name, a := range rec.Aliases {
			if a.Alias.FunctionVersion == r.Qualifier {
				users = append(users, name)
				continue
			}
			if a.Alias.RoutingConfig != nil {
				if _, ok := a.Alias.RoutingConfig.AdditionalVersionWeights[r.Qualifier]; ok {
					users = append(users, name)
				}
			}
		}
		if len(users) > 0 {
			sort.Strings(users)
			return awserr.New(awserr.ResourceConflict, "Unable to delete version because the following aliases reference it: [%s]", strings.Join(users, ", "))
		}
		delete(rec.EventInvoke, r.Qualifier)
		rec.Versions = slices.DeleteFunc(rec.Versions, func(v int) bool { return v == n })
		return nil
	})
	if err != nil {
		return err
	}
	s.versionsC.Delete(versionKey(r.Account, r.Name, n))
	s.dropProvisioned(ctx, r.Account, r.Name, r.Qualifier)
	if err := s.versions.Delete(ctx, versionKey(r.Account, r.Name, n), 0); err != nil {
		return err
	}
	s.changed(r.Account, r.Name, false)
	s.kickGC()
	return nil
}

// ListPage is one page of ListFunctions or ListVersionsByFunction.
type ListPage struct {
	Items      []Configuration
	NextMarker string
}

// List is ListFunctions: $LATEST of each function in the account sorted by
// name, or every version too when allVersions. Pages continue after the
// marker's (name, version) position, so functions created or deleted between
// pages neither repeat nor shift items.
func (s *Service) List(ctx context.Context, account, marker string, maxItems int, allVersions bool) (*ListPage, error) {
	after, err := decodeMarker(marker)
	if err != nil {
		return nil, err
	}
	names, err := s.names(ctx, account)
	if err != nil {
		return nil, err
	}
	var page ListPage
	var last listMarker
	for _, name := range names {
		if name < after.name {
			continue
		}
		rec, _, err := s.load(ctx, Ref{Account: account, Name: name})
		if awserr.IsType(err, awserr.ResourceNotFound) {
			continue // deleted meanwhile
		}
		if err != nil {
			return nil, err
		}
		items := []Configuration{rec.Latest}
		if allVersions {
			vs, err := s.versionConfigs(ctx, rec, account, name)
			if err != nil {
				return nil, err
			}
			items = append(items, vs...)
		}
		for _, it := range items {
			pos := listMarker{name: name, index: versionIndex(it.Version)}
			if name == after.name && pos.index <= after.index {
				continue
			}
			if len(page.Items) == maxItems {
				page.NextMarker = encodeMarker(last)
				return &page, nil
			}
			page.Items = append(page.Items, it)
			last = pos
		}
	}
	return &page, nil
}

// versionIndex orders a function's versions: $LATEST first, then by number.
func versionIndex(v string) int {
	if v == LatestVersion {
		return 0
	}
	var n int
	fmt.Sscanf(v, "%d", &n)
	return n
}

// names lists the account's function names in order.
func (s *Service) names(ctx context.Context, account string) ([]string, error) {
	var keys []string
	if s.fnMirror != nil {
		keys = s.fnMirror.Keys(account + ".")
	} else {
		var err error
		if keys, err = s.functions.Keys(ctx, account+".*"); err != nil {
			return nil, err
		}
	}
	names := make([]string, 0, len(keys))
	for _, k := range keys {
		names = append(names, k[len(account)+1:])
	}
	sort.Strings(names)
	return names, nil
}

// versionConfigs returns a function's published versions in order.
func (s *Service) versionConfigs(ctx context.Context, rec *functionRecord, account, name string) ([]Configuration, error) {
	var out []Configuration
	for _, n := range rec.Versions {
		v, _, err := s.loadVersion(ctx, rec, Ref{Account: account, Name: name, Qualifier: fmt.Sprint(n)}, n)
		if awserr.IsType(err, awserr.ResourceNotFound) {
			continue
		}
		if err != nil {
			return nil, err
		}
		out = append(out, v.Config)
	}
	return out, nil
}

type listMarker struct {
	name  string
	index int
}

func encodeMarker(m listMarker) string {
	b, _ := json.Marshal([]any{m.name, m.index})
	return base64.RawURLEncoding.EncodeToString(b)
}

func decodeMarker(s string) (listMarker, error) {
	if s == "" {
		return listMarker{index: -1}, nil
	}
	b, err := base64.RawURLEncoding.DecodeString(s)
	var parts []any
	if err == nil {
		err = json.Unmarshal(b, &parts)
	}
	if err != nil || len(parts) != 2 {
		return listMarker{}, invalidParam("Invalid marker: %s", truncate(s, 64))
	}
	name, ok1 := parts[0].(string)
	idx, ok2 := parts[1].(float64)
	if !ok1 || !ok2 {
		return listMarker{}, invalidParam("Invalid marker: %s", truncate(s, 64))
	}
	return listMarker{name: name, index: int(idx)}, nil
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n] + "..."
	}
	return s
}

func deref(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}

func derefInt(p *int, def int) int {
	if p == nil {
		return def
	}
	return *p
}
