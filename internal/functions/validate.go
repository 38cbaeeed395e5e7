package functions

import (
	"bytes"
	"encoding/json"
	"fmt"
	"regexp"
	"runtime"
	"slices"
	"sort"
	"strings"

	"github.com/cloister/cloister/internal/arn"
	"github.com/cloister/cloister/internal/awserr"
	"github.com/cloister/cloister/internal/runtimes"
)

// Limits from the Lambda API model and AWS's quotas.
const (
	MaxZippedSize      = 50 << 20  // 52428800
	MaxUnzippedSize    = 262144000 // 250 MB
	MaxTotalCodeSize   = 80530636800
	MaxEnvironmentSize = 4096
	MaxLayers          = 5
	MaxTags            = 50
	MaxPolicySize      = 20480
	MinUnreserved      = 100
	DefaultTimeout     = 3
	DefaultMemory      = 128
	DefaultEphemeral   = 512
)

var (
	roleARNRe    = regexp.MustCompile(`^arn:(aws[a-zA-Z-]*)?:iam::\d{12}:role/?[a-zA-Z_0-9+=,.@\-_/]+$`)
	handlerRe    = regexp.MustCompile(`^[^\s]+$`)
	envKeyRe     = regexp.MustCompile(`^[a-zA-Z]([a-zA-Z0-9_])+$`)
	layerARNRe   = regexp.MustCompile(`^arn:[a-zA-Z0-9-]+:lambda:[a-zA-Z0-9-]+:\d{12}:layer:[a-zA-Z0-9-_]+:[0-9]+$`)
	logGroupRe   = regexp.MustCompile(`^[\.\-_/#A-Za-z0-9]+$`)
	targetARNRe  = regexp.MustCompile(`^(arn:(aws[a-zA-Z-]*)?:[a-z0-9-.]+:.*)?$`)
	destARNRe    = regexp.MustCompile(`^$|^arn:(aws[a-zA-Z0-9-]*):([a-zA-Z0-9\-])+:([a-z]{2}(-gov)?-[a-z]+-\d{1})?:(\d{12})?:(.*)$`)
	statementRe  = regexp.MustCompile(`^[a-zA-Z0-9-_]+$`)
	nsStatemetRe = regexp.MustCompile(`^[a-zA-Z0-9-_.]+$`)
	actionRe     = regexp.MustCompile(`^(lambda:[*]|lambda:[a-zA-Z]+|[*])$`)
	sourceARNRe  = regexp.MustCompile(`^arn:(aws[a-zA-Z0-9-]*):([a-zA-Z0-9\-])+:([a-z]{2}(-gov)?-[a-z]+-\d{1})?:(\d{12})?:(.*)$`)
	accountRe    = regexp.MustCompile(`^\d{12}$`)
	orgIDRe      = regexp.MustCompile(`^o-[a-z0-9]{10,32}$`)
	tokenRe      = regexp.MustCompile(`^[a-zA-Z0-9._\-]+$`)
)

// reservedEnv are the variables Lambda sets itself and refuses to let
// functions override.
var reservedEnv = map[string]bool{
	"_HANDLER": true, "_X_AMZN_TRACE_ID": true, "AWS_DEFAULT_REGION": true, "AWS_REGION": true,
	"AWS_EXECUTION_ENV": true, "AWS_LAMBDA_FUNCTION_NAME": true, "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": true,
	"AWS_LAMBDA_FUNCTION_VERSION": true, "AWS_LAMBDA_INITIALIZATION_TYPE": true,
	"AWS_LAMBDA_LOG_GROUP_NAME": true, "AWS_LAMBDA_LOG_STREAM_NAME": true, "AWS_ACCESS_KEY": true,
	"AWS_ACCESS_KEY_ID": true, "AWS_SECRET_ACCESS_KEY": true, "AWS_SESSION_TOKEN": true,
	"AWS_LAMBDA_RUNTIME_API": true, "LAMBDA_TASK_ROOT": true, "LAMBDA_RUNTIME_DIR": true,
}

// violations collects model-constraint failures, which Lambda reports
// together as one ValidationException.
type violations []string

func constraint(value any, member, rule string) string {
	v := "null"
	if value != nil {
		v = fmt.Sprintf("'%v'", value)
	}
	return fmt.Sprintf("Value %s at '%s' failed to satisfy constraint: %s", v, member, rule)
}

func (v *violations) add(value any, member, rule string) {
	*v = append(*v, constraint(value, member, rule))
}

func (v violations) err() error {
	if len(v) == 0 {
		return nil
	}
	return validationError(v...)
}

func validationError(msgs ...string) *awserr.Error {
	noun := "error"
	if len(msgs) > 1 {
		noun = "errors"
	}
	return awserr.New(awserr.Validation, "%d validation %s detected: %s", len(msgs), noun, strings.Join(msgs, "; "))
}

func invalidParam(format string, args ...any) *awserr.Error {
	return awserr.New(awserr.InvalidParameterValue, format, args...)
}

// common holds the members CreateFunction and UpdateFunctionConfiguration
// share, so both validate them the same way.
type common struct {
	Role             *string
	Handler          *string
	Description      *string
	Timeout          *int
	MemorySize       *int
	Runtime          *string
	Environment      *Environment
	EphemeralStorage *EphemeralStorage
	TracingConfig    *TracingConfig
	LoggingConfig    *LoggingConfig
	DeadLetterConfig *DeadLetterConfig
	Layers           []string
	VpcConfig        *VpcConfig
	KMSKeyArn        *string
	FileSystems      []map[string]any
	ImageConfig      map[string]any
	SnapStart        *SnapStart
}

// checkModel applies the API model's constraints (ValidationException).
func (c *common) checkModel(v *violations) {
	if c.Role != nil && !roleARNRe.MatchString(*c.Role) {
		v.add(*c.Role, "role", `Member must satisfy regular expression pattern: arn:(aws[a-zA-Z-]*)?:iam::\d{12}:role/?[a-zA-Z_0-9+=,.@\-_/]+`)
	}
	if c.Handler != nil {
		if len(*c.Handler) > 128 {
			v.add(*c.Handler, "handler", "Member must have length less than or equal to 128")
		} else if !handlerRe.MatchString(*c.Handler) {
			v.add(*c.Handler, "handler", `Member must satisfy regular expression pattern: [^\s]+`)
		}
	}
	if c.Description != nil && len(*c.Description) > 256 {
		v.add(*c.Description, "description", "Member must have length less than or equal to 256")
	}
	if c.Timeout != nil {
		if *c.Timeout < 1 {
			v.add(*c.Timeout, "timeout", "Member must have value greater than or equal to 1")
		} else if *c.Timeout > 900 {
			v.add(*c.Timeout, "timeout", "Member must have value less than or equal to 900")
		}
	}
	if c.MemorySize != nil {
		if *c.MemorySize < 128 {
			v.add(*c.MemorySize, "memorySize", "Member must have value greater than or equal to 128")
		} else if *c.MemorySize > 10240 {
			v.add(*c.MemorySize, "memorySize", "Member must have value less than or equal to 10240")
		}
	}
	if c.EphemeralStorage != nil {
		if s := c.EphemeralStorage.Size; s < 512 {
			v.add(s, "ephemeralStorage.size", "Member must have value greater than or equal to 512")
		} else if s > 10240 {
			v.add(s, "ephemeralStorage.size", "Member must have value less than or equal to 10240")
		}
	}
	if c.TracingConfig != nil && c.TracingConfig.Mode != "" && c.TracingConfig.Mode != "Active" && c.TracingConfig.Mode != "PassThrough" {
		v.add(c.TracingConfig.Mode, "tracingConfig.mode", "Member must satisfy enum value set: [Active, PassThrough]")
	}
	if lc := c.LoggingConfig; lc != nil {
		if lc.LogFormat != "" && lc.LogFormat != "JSON" && lc.LogFormat != "Text" {
			v.add(lc.LogFormat, "loggingConfig.logFormat", "Member must satisfy enum value set: [JSON, Text]")
		}
		if lc.ApplicationLogLevel != "" && !oneOf(lc.ApplicationLogLevel, "TRACE", "DEBUG", "INFO", "WARN", "ERROR", "FATAL") {
			v.add(lc.ApplicationLogLevel, "loggingConfig.applicationLogLevel", "Member must satisfy enum value set: [TRACE, DEBUG, INFO, WARN, ERROR, FATAL]")
		}
		if lc.SystemLogLevel != "" && !oneOf(lc.SystemLogLevel, "DEBUG", "INFO", "WARN") {
			v.add(lc.SystemLogLevel, "loggingConfig.systemLogLevel", "Member must satisfy enum value set: [DEBUG, INFO, WARN]")
		}
		if lc.LogGroup != "" && (len(lc.LogGroup) > 512 || !logGroupRe.MatchString(lc.LogGroup)) {
			v.add(lc.LogGroup, "loggingConfig.logGroup", `Member must satisfy regular expression pattern: [\.\-_/#A-Za-z0-9]+`)
		}
	}
	if c.DeadLetterConfig != nil && !targetARNRe.MatchString(c.DeadLetterConfig.TargetArn) {
		v.add(c.DeadLetterConfig.TargetArn, "deadLetterConfig.targetArn", `Member must satisfy regular expression pattern: (arn:(aws[a-zA-Z-]*)?:[a-z0-9-.]+:.*)|()`)
	}
	for i, l := range c.Layers {
		if !layerARNRe.MatchString(l) {
			v.add(l, fmt.Sprintf("layers.%d.member", i+1), `Member must satisfy regular expression pattern: arn:[a-zA-Z0-9-]+:lambda:[a-zA-Z0-9-]+:\d{12}:layer:[a-zA-Z0-9-_]+:[0-9]+`)
		}
	}
	if c.Environment != nil {
		for k := range c.Environment.Variables {
			if !envKeyRe.MatchString(k) {
				// The variables are sensitive: AWS names no value, and
				// reports the member once however many keys are bad.
				*v = append(*v, "Value at 'environment.variables' failed to satisfy constraint: Map keys must satisfy constraint: [Member must satisfy regular expression pattern: [a-zA-Z]([a-zA-Z0-9_])+]")
				break
			}
		}
	}
	if len(c.FileSystems) > 1 {
		v.add(len(c.FileSystems), "fileSystemConfigs", "Member must have length less than or equal to 1")
	}
}

// checkSemantics applies Lambda's own rules (InvalidParameterValueException),
// after the model constraints hold.
func (c *common) checkSemantics(cat *runtimes.Catalog) error {
	if c.Runtime != nil {
		if err := checkRuntime(*c.Runtime, cat); err != nil {
			return err
		}
	}
	if c.Environment != nil {
		var reserved []string
		for _, k := range sortedKeys(c.Environment.Variables) {
			if reservedEnv[k] {
				reserved = append(reserved, k)
			}
		}
		if len(reserved) > 0 {
			return invalidParam("Lambda was unable to configure your environment variables because the environment variables you have provided contains reserved keys that are currently not supported for modification. Reserved keys used in this request: %s", strings.Join(reserved, ", "))
		}
		measured := measureEnvironment(c.Environment.Variables)
		if len(measured) > MaxEnvironmentSize {
			return invalidParam("Lambda was unable to configure your environment variables because the environment variables you have provided exceeded the 4KB limit. String measured: %s", measured)
		}
	}
	if len(c.Layers) > MaxLayers {
		return invalidParam("Cannot reference more than %d layers.", MaxLayers)
	}
	if lc := c.LoggingConfig; lc != nil && lc.LogFormat != "JSON" && (lc.ApplicationLogLevel != "" || lc.SystemLogLevel != "") {
		return invalidParam("Function log levels can only be set when the function's log format is JSON.")
	}
	if vc := c.VpcConfig; vc != nil && (len(vc.SubnetIds) > 0 || len(vc.SecurityGroupIds) > 0) {
		return invalidParam("VpcConfig is not supported by this Cloister server: functions have no network unless configured by the operator.")
	}
	if c.KMSKeyArn != nil && *c.KMSKeyArn != "" {
		return invalidParam("KMSKeyArn is not supported by this Cloister server yet: it has no key service to encrypt environment variables with a customer managed key.")
	}
	if len(c.FileSystems) > 0 {
		return invalidParam("FileSystemConfigs are not supported by this Cloister server.")
	}
	if len(c.ImageConfig) > 0 {
		return invalidParam("ImageConfig is only valid for functions with PackageType Image, which this Cloister server does not support.")
	}
	if c.SnapStart != nil && c.SnapStart.ApplyOn != "" && c.SnapStart.ApplyOn != "None" {
		if c.SnapStart.ApplyOn != "PublishedVersions" {
			return validationError(constraint(c.SnapStart.ApplyOn, "snapStart.applyOn", "Member must satisfy enum value set: [PublishedVersions, None]"))
		}
		return invalidParam("SnapStart is not supported by this Cloister server.")
	}
	if c.DeadLetterConfig != nil && c.DeadLetterConfig.TargetArn != "" {
		if err := checkTargetARN(c.DeadLetterConfig.TargetArn, "DeadLetterConfig"); err != nil {
			return err
		}
	}
	return nil
}

// measureEnvironment is the JSON text Lambda measures against the 4 KB
// limit. HTML characters stay as they are: escaping them (json.Marshal's
// default) would count one '<' as six bytes.
func measureEnvironment(vars map[string]string) []byte {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(vars) // a map of strings always encodes
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
}

// checkTargetARN accepts the destination types Cloister delivers to: its
// queues (sqs) and functions (lambda).
func checkTargetARN(target, what string) error {
	a, ok := arn.Parse(target)
	if !ok {
		return invalidParam("The provided %s target ARN %s is not valid.", what, target)
	}
	switch a.Service {
	case "sqs", "lambda":
		return nil
	}
	return invalidParam("The provided %s target %s is not supported: Cloister delivers to queues (sqs) and functions (lambda).", what, target)
}

func checkRuntime(name string, cat *runtimes.Catalog) error {
	known := runtimes.Known()
	if !slices.Contains(known, name) {
		return invalidParam("Value %s at 'runtime' failed to satisfy constraint: Member must satisfy enum value set: [%s] or be a valid ARN", name, strings.Join(known, ", "))
	}
	if runtimes.Deprecated(name) {
		return deprecatedRuntime(name)
	}
	if _, ok := cat.Lookup(name); !ok {
		return invalidParam("The runtime %s is not available on this Cloister server. Available runtimes: [%s].", name, strings.Join(cat.Names(), ", "))
	}
	return nil
}

func deprecatedRuntime(name string) error {
	return invalidParam("The runtime parameter of %s is no longer supported for creating or updating AWS Lambda functions. We recommend you use a supported runtime while creating or updating functions.", name)
}

// checkArchitectures validates Architectures and that this host can run it.
func checkArchitectures(arch []string, v *violations) {
	if arch == nil {
		return
	}
	if len(arch) != 1 {
		v.add(fmt.Sprintf("[%s]", strings.Join(arch, ", ")), "architectures", "Member must have length less than or equal to 1")
		return
	}
	if arch[0] != "x86_64" && arch[0] != "arm64" {
		v.add(fmt.Sprintf("[%s]", arch[0]), "architectures", "Member must satisfy constraint: [Member must satisfy enum value set: [x86_64, arm64]]")
	}
}

func hostArchitecture() string {
	if runtime.GOARCH == "arm64" {
		return "arm64"
	}
	return "x86_64"
}

func checkHostArchitecture(arch []string) error {
	if len(arch) == 1 && arch[0] != hostArchitecture() {
		return invalidParam("Architecture %s is not supported by this Cloister server, which runs on %s.", arch[0], hostArchitecture())
	}
	return nil
}

// checkTags validates a tag map as TagResource and CreateFunction take it.
func checkTags(tags map[string]string) error {
	var v violations
	for _, k := range sortedKeys(tags) {
		if len(k) < 1 || len(k) > 128 {
			v.add(k, "tags", "Member must have length between 1 and 128")
		}
		if len(tags[k]) > 256 {
			v.add(tags[k], "tags", "Member must have length less than or equal to 256")
		}
	}
	if err := v.err(); err != nil {
		return err
	}
	for k := range tags {
		if strings.HasPrefix(strings.ToLower(k), "aws:") {
			return invalidParam("Tag keys starting with 'aws:' are reserved for AWS use: %s", k)
		}
	}
	return nil
}

func oneOf(s string, set ...string) bool {
	for _, x := range set {
		if s == x {
			return true
		}
	}
	return false
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

var serviceRe = regexp.MustCompile(`^[a-z0-9-]+(\.[a-z0-9-]+)+$`)
