package api_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"

	"github.com/cloister/cloister/internal/runtimes"
)

const (
	rolePattern     = `arn:(aws[a-zA-Z-]*)?:iam::\d{12}:role/?[a-zA-Z_0-9+=,.@\-_/]+`
	envKeyViolation = "1 validation error detected: Value at 'environment.variables' failed to satisfy constraint: Map keys must satisfy constraint: [Member must satisfy regular expression pattern: [a-zA-Z]([a-zA-Z0-9_])+]"
	go1xMessage     = "The runtime parameter of go1.x is no longer supported for creating or updating AWS Lambda functions. We recommend you use a supported runtime while creating or updating functions."
)

// configCase is a change to a function's configuration and the error it
// must cause, shared by CreateFunction and UpdateFunctionConfiguration.
type configCase struct {
	what string
	// set applies the change to the members both operations share.
	set  func(c *sharedConfig)
	want apiErr
}

// sharedConfig holds the members CreateFunction and
// UpdateFunctionConfiguration have in common.
type sharedConfig struct {
	Role             *string
	Runtime          types.Runtime
	Handler          *string
	Description      *string
	Timeout          *int32
	MemorySize       *int32
	Environment      *types.Environment
	EphemeralStorage *types.EphemeralStorage
	Layers           []string
	TracingConfig    *types.TracingConfig
	LoggingConfig    *types.LoggingConfig
	DeadLetterConfig *types.DeadLetterConfig
}

func configCases(t testing.TB) []configCase {
	cat, err := catalog()
	if err != nil {
		t.Fatal(err)
	}
	layer := func(i int) string { return fmt.Sprintf("arn:aws:lambda:us-east-1:123456789012:layer:lib%d:1", i) }
	six := make([]string, 6)
	for i := range six {
		six[i] = layer(i)
	}
	bigEnv := map[string]string{"BIG": strings.Repeat("x", 4090)}
	longHandler := strings.Repeat("h", 129)
	longDesc := strings.Repeat("d", 257)
	return []configCase{
		{"role pattern", func(c *sharedConfig) { c.Role = aws.String("r1") },
			validation("1 validation error detected: Value 'r1' at 'role' failed to satisfy constraint: Member must satisfy regular expression pattern: " + rolePattern)},
		{"runtime enum", func(c *sharedConfig) { c.Runtime = "cobol85" },
			invalidParam("Value cobol85 at 'runtime' failed to satisfy constraint: Member must satisfy enum value set: [" + strings.Join(runtimes.Known(), ", ") + "] or be a valid ARN")},
		{"deprecated runtime", func(c *sharedConfig) { c.Runtime = "go1.x" }, invalidParam(go1xMessage)},
		{"runtime not on this host", func(c *sharedConfig) { c.Runtime = "java21" },
			invalidParam("The runtime java21 is not available on this Cloister server. Available runtimes: [" + strings.Join(cat.Names(), ", ") + "].")},
		{"memory 127", func(c *sharedConfig) { c.MemorySize = aws.Int32(127) },
			validation("1 validation error detected: Value '127' at 'memorySize' failed to satisfy constraint: Member must have value greater than or equal to 128")},
		{"memory 10241", func(c *sharedConfig) { c.MemorySize = aws.Int32(10241) },
			validation("1 validation error detected: Value '10241' at 'memorySize' failed to satisfy constraint: Member must have value less than or equal to 10240")},
		{"timeout 0", func(c *sharedConfig) { c.Timeout = aws.Int32(0) },
			validation("1 validation error detected: Value '0' at 'timeout' failed to satisfy constraint: Member must have value greater than or equal to 1")},
		{"timeout 901", func(c *sharedConfig) { c.Timeout = aws.Int32(901) },
			validation("1 validation error detected: Value '901' at 'timeout' failed to satisfy constraint: Member must have value less than or equal to 900")},
		{"ephemeral storage 511", func(c *sharedConfig) { c.EphemeralStorage = &types.EphemeralStorage{Size: aws.Int32(511)} },
			validation("1 validation error detected: Value '511' at 'ephemeralStorage.size' failed to satisfy constraint: Member must have value greater than or equal to 512")},
		{"ephemeral storage 10241", func(c *sharedConfig) { c.EphemeralStorage = &types.EphemeralStorage{Size: aws.Int32(10241)} },
			validation("1 validation error detected: Value '10241' at 'ephemeralStorage.size' failed to satisfy constraint: Member must have value less than or equal to 10240")},
		{"handler too long", func(c *sharedConfig) { c.Handler = aws.String(longHandler) },
			validation("1 validation error detected: Value '" + longHandler + "' at 'handler' failed to satisfy constraint: Member must have length less than or equal to 128")},
		{"handler with space", func(c *sharedConfig) { c.Handler = aws.String("index handler") },
			validation(`1 validation error detected: Value 'index handler' at 'handler' failed to satisfy constraint: Member must satisfy regular expression pattern: [^\s]+`)},
		{"description too long", func(c *sharedConfig) { c.Description = aws.String(longDesc) },
			validation("1 validation error detected: Value '" + longDesc + "' at 'description' failed to satisfy constraint: Member must have length less than or equal to 256")},
		{"env key starts with digit", func(c *sharedConfig) {
			c.Environment = &types.Environment{Variables: map[string]string{"1BAD": "secret-value"}}
		},
			validation(envKeyViolation)},
		{"env key of one letter", func(c *sharedConfig) {
			c.Environment = &types.Environment{Variables: map[string]string{"A": "v", "B-C": "w"}}
		},
			validation(envKeyViolation)},
		{"reserved env keys", func(c *sharedConfig) {
			c.Environment = &types.Environment{Variables: map[string]string{"OK": "1", "AWS_REGION": "x", "AWS_LAMBDA_RUNTIME_API": "y"}}
		}, invalidParam("Lambda was unable to configure your environment variables because the environment variables you have provided contains reserved keys that are currently not supported for modification. Reserved keys used in this request: AWS_LAMBDA_RUNTIME_API, AWS_REGION")},
		{"environment over 4 KB", func(c *sharedConfig) { c.Environment = &types.Environment{Variables: bigEnv} },
			invalidParam(`Lambda was unable to configure your environment variables because the environment variables you have provided exceeded the 4KB limit. String measured: {"BIG":"` + bigEnv["BIG"] + `"}`)},
		{"six layers", func(c *sharedConfig) { c.Layers = six }, invalidParam("Cannot reference more than 5 layers.")},
		{"layer ARN pattern", func(c *sharedConfig) { c.Layers = []string{"my-layer"} },
			validation(`1 validation error detected: Value 'my-layer' at 'layers.1.member' failed to satisfy constraint: Member must satisfy regular expression pattern: arn:[a-zA-Z0-9-]+:lambda:[a-zA-Z0-9-]+:\d{12}:layer:[a-zA-Z0-9-_]+:[0-9]+`)},
		{"missing layer", func(c *sharedConfig) { c.Layers = []string{layer(1)} }, invalidParam("Layer version " + layer(1) + " does not exist.")},
		{"tracing mode", func(c *sharedConfig) { c.TracingConfig = &types.TracingConfig{Mode: "Loud"} },
			validation("1 validation error detected: Value 'Loud' at 'tracingConfig.mode' failed to satisfy constraint: Member must satisfy enum value set: [Active, PassThrough]")},
		{"log level without JSON", func(c *sharedConfig) {
			c.LoggingConfig = &types.LoggingConfig{LogFormat: types.LogFormatText, ApplicationLogLevel: types.ApplicationLogLevelDebug}
		}, invalidParam("Function log levels can only be set when the function's log format is JSON.")},
		{"dead letter target", func(c *sharedConfig) {
			c.DeadLetterConfig = &types.DeadLetterConfig{TargetArn: aws.String("arn:aws:sns:us-east-1:123456789012:dlq")}
		}, invalidParam("The provided DeadLetterConfig target arn:aws:sns:us-east-1:123456789012:dlq is not supported: Cloister delivers to queues (sqs) and functions (lambda).")},
		{"two violations", func(c *sharedConfig) { c.MemorySize, c.Timeout = aws.Int32(64), aws.Int32(1000) },
			validation("2 validation errors detected: Value '1000' at 'timeout' failed to satisfy constraint: Member must have value less than or equal to 900; " +
				"Value '64' at 'memorySize' failed to satisfy constraint: Member must have value greater than or equal to 128")},
	}
}

func TestConfigurationValidation(t *testing.T) {
	t.Parallel()
	h := newHarness(t, harnessConfig{})
	ctx := context.Background()
	existing := fnName("valid-update")
	h.createFunction(t, existing)

	for _, c := range configCases(t) {
		t.Run(c.what, func(t *testing.T) {
			t.Parallel()
			var s sharedConfig
			c.set(&s)
			in := createInput(t, fnName("valid"))
			if s.Role != nil {
				in.Role = s.Role
			}
			if s.Runtime != "" {
				in.Runtime = s.Runtime
			}
			if s.Handler != nil {
				in.Handler = s.Handler
			}
			in.Description, in.Timeout, in.MemorySize, in.Environment = s.Description, s.Timeout, s.MemorySize, s.Environment
			in.EphemeralStorage, in.Layers, in.TracingConfig, in.LoggingConfig, in.DeadLetterConfig = s.EphemeralStorage, s.Layers, s.TracingConfig, s.LoggingConfig, s.DeadLetterConfig
			_, err := h.client.CreateFunction(ctx, in)
			t.Run("CreateFunction", func(t *testing.T) { wantErr(t, err, c.want) })

			_, err = h.client.UpdateFunctionConfiguration(ctx, &lambda.UpdateFunctionConfigurationInput{
				FunctionName: aws.String(existing), Role: s.Role, Runtime: s.Runtime, Handler: s.Handler, Description: s.Description,
				Timeout: s.Timeout, MemorySize: s.MemorySize, Environment: s.Environment, EphemeralStorage: s.EphemeralStorage,
				Layers: s.Layers, TracingConfig: s.TracingConfig, LoggingConfig: s.LoggingConfig, DeadLetterConfig: s.DeadLetterConfig,
			})
			t.Run("UpdateFunctionConfiguration", func(t *testing.T) { wantErr(t, err, c.want) })
		})
	}
}

func TestCreateFunctionValidation(t *testing.T) {
	t.Parallel()
	h := newHarness(t, harnessConfig{})
	ctx := context.Background()
	long := strings.Repeat("f", 65)
	cases := []struct {
		what string
		mod  func(*lambda.CreateFunctionInput)
		want apiErr
	}{
		{"name of 65 characters", func(in *lambda.CreateFunctionInput) { in.FunctionName = aws.String(long) },
			validation("1 validation error detected: Value '" + long + "' at 'functionName' failed to satisfy constraint: Member must have length less than or equal to 64")},
		{"name pattern", func(in *lambda.CreateFunctionInput) { in.FunctionName = aws.String("my function") },
			validation("1 validation error detected: Value 'my function' at 'functionName' failed to satisfy constraint: Member must satisfy regular expression pattern: " + functionNamePattern)},
		{"name with a dot", func(in *lambda.CreateFunctionInput) { in.FunctionName = aws.String("my.function") },
			validation("1 validation error detected: Value 'my.function' at 'functionName' failed to satisfy constraint: Member must satisfy regular expression pattern: " + functionNamePattern)},
		{"two architectures", func(in *lambda.CreateFunctionInput) {
			in.Architectures = []types.Architecture{types.ArchitectureX8664, types.ArchitectureArm64}
		}, validation("1 validation error detected: Value '[x86_64, arm64]' at 'architectures' failed to satisfy constraint: Member must have length less than or equal to 1")},
		{"unknown architecture", func(in *lambda.CreateFunctionInput) { in.Architectures = []types.Architecture{"mips"} },
			validation("1 validation error detected: Value '[mips]' at 'architectures' failed to satisfy constraint: Member must satisfy constraint: [Member must satisfy enum value set: [x86_64, arm64]]")},
		{"package type", func(in *lambda.CreateFunctionInput) { in.PackageType = "Jar" },
			validation("1 validation error detected: Value 'Jar' at 'packageType' failed to satisfy constraint: Member must satisfy enum value set: [Zip, Image]")},
		{"image package", func(in *lambda.CreateFunctionInput) { in.PackageType = types.PackageTypeImage },
			invalidParam("PackageType Image is not supported by this Cloister server; upload a .zip file archive.")},
		{"no runtime", func(in *lambda.CreateFunctionInput) { in.Runtime = "" },
			invalidParam("Runtime and Handler are mandatory parameters for functions created with deployment packages.")},
		{"no handler", func(in *lambda.CreateFunctionInput) { in.Handler = nil },
			invalidParam("Runtime and Handler are mandatory parameters for functions created with deployment packages.")},
		{"VPC", func(in *lambda.CreateFunctionInput) { in.VpcConfig = &types.VpcConfig{SubnetIds: []string{"subnet-1"}} },
			invalidParam("VpcConfig is not supported by this Cloister server: functions have no network unless configured by the operator.")},
		{"code signing", func(in *lambda.CreateFunctionInput) {
			in.CodeSigningConfigArn = aws.String("arn:aws:lambda:us-east-1:123456789012:code-signing-config:csc-1")
		}, apiErr{404, "CodeSigningConfigNotFoundException", "The code signing configuration cannot be found. Check that the provided configuration is not deleted: arn:aws:lambda:us-east-1:123456789012:code-signing-config:csc-1."}},
	}
	other := types.ArchitectureArm64
	if hostIsArm {
		other = types.ArchitectureX8664
	}
	cases = append(cases, struct {
		what string
		mod  func(*lambda.CreateFunctionInput)
		want apiErr
	}{"architecture of another host", func(in *lambda.CreateFunctionInput) { in.Architectures = []types.Architecture{other} },
		invalidParam(fmt.Sprintf("Architecture %s is not supported by this Cloister server, which runs on %s.", other, hostArch()))})
	t.Run("refused", func(t *testing.T) {
		for _, c := range cases {
			t.Run(c.what, func(t *testing.T) {
				t.Parallel()
				in := createInput(t, fnName("valid-create"))
				c.mod(in)
				_, err := h.client.CreateFunction(ctx, in)
				wantErr(t, err, c.want)
			})
		}
		t.Run("missing members", func(t *testing.T) {
			t.Parallel()
			r := h.do(t, h.rootSigner(), http.MethodPost, "/2015-03-31/functions", []byte(`{"Runtime":"provided.al2023","Handler":"x"}`))
			wantRawErr(t, r, validation("3 validation errors detected: Value null at 'functionName' failed to satisfy constraint: Member must not be null; "+
				"Value null at 'role' failed to satisfy constraint: Member must not be null; Value null at 'code' failed to satisfy constraint: Member must not be null"))
		})
	})

	t.Run("nothing was created", func(t *testing.T) {
		out, err := h.client.ListFunctions(ctx, &lambda.ListFunctionsInput{})
		if err != nil {
			t.Fatal(err)
		}
		if len(out.Functions) != 0 {
			t.Errorf("refused requests created %d functions", len(out.Functions))
		}
	})
}

// TestEnvironmentMeasure checks that the 4 KB limit counts the variables'
// JSON as written: characters such as '<' and '&' count once.
func TestEnvironmentMeasure(t *testing.T) {
	t.Parallel()
	h := newHarness(t, harnessConfig{})
	ctx := context.Background()
	html := strings.Repeat("<&>", 1300) // 3900 bytes; 23400 if HTML-escaped
	name := fnName("env-html")
	h.createFunction(t, name, func(in *lambda.CreateFunctionInput) {
		in.Environment = &types.Environment{Variables: map[string]string{"PAGE": html}}
	})
	cfg, err := h.client.GetFunctionConfiguration(ctx, &lambda.GetFunctionConfigurationInput{FunctionName: aws.String(name)})
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Environment.Variables["PAGE"] != html {
		t.Error("the variable did not survive unchanged")
	}
	over := html + strings.Repeat("&", 190)
	_, err = h.client.UpdateFunctionConfiguration(ctx, &lambda.UpdateFunctionConfigurationInput{
		FunctionName: aws.String(name), Environment: &types.Environment{Variables: map[string]string{"PAGE": over}},
	})
	wantErr(t, err, invalidParam(`Lambda was unable to configure your environment variables because the environment variables you have provided exceeded the 4KB limit. String measured: {"PAGE":"`+over+`"}`))
}
