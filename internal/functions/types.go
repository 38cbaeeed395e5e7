package functions

// Wire shapes of the Lambda API, with AWS's member names. Pointers mark
// members AWS omits when unset.

// Configuration is Lambda's FunctionConfiguration.
type Configuration struct {
	FunctionName               string                `json:"FunctionName"`
	FunctionArn                string                `json:"FunctionArn"`
	Runtime                    string                `json:"Runtime,omitempty"`
	Role                       string                `json:"Role"`
	Handler                    string                `json:"Handler,omitempty"`
	CodeSize                   int64                 `json:"CodeSize"`
	Description                string                `json:"Description"`
	Timeout                    int                   `json:"Timeout"`
	MemorySize                 int                   `json:"MemorySize"`
	LastModified               string                `json:"LastModified"`
	CodeSha256                 string                `json:"CodeSha256"`
	Version                    string                `json:"Version"`
	Environment                *EnvironmentResponse  `json:"Environment,omitempty"`
	KMSKeyArn                  string                `json:"KMSKeyArn,omitempty"`
	TracingConfig              TracingConfig         `json:"TracingConfig"`
	MasterArn                  string                `json:"MasterArn,omitempty"`
	RevisionId                 string                `json:"RevisionId"`
	Layers                     []Layer               `json:"Layers,omitempty"`
	State                      string                `json:"State"`
	StateReason                string                `json:"StateReason,omitempty"`
	StateReasonCode            string                `json:"StateReasonCode,omitempty"`
	LastUpdateStatus           string                `json:"LastUpdateStatus,omitempty"`
	LastUpdateStatusReason     string                `json:"LastUpdateStatusReason,omitempty"`
	LastUpdateStatusReasonCode string                `json:"LastUpdateStatusReasonCode,omitempty"`
	DeadLetterConfig           *DeadLetterConfig     `json:"DeadLetterConfig,omitempty"`
	PackageType                string                `json:"PackageType"`
	Architectures              []string              `json:"Architectures"`
	EphemeralStorage           EphemeralStorage      `json:"EphemeralStorage"`
	SnapStart                  SnapStartResponse     `json:"SnapStart"`
	RuntimeVersionConfig       *RuntimeVersionConfig `json:"RuntimeVersionConfig,omitempty"`
	LoggingConfig              LoggingConfig         `json:"LoggingConfig"`
}

// EnvironmentResponse is a function's environment as returned.
type EnvironmentResponse struct {
	Variables map[string]string `json:"Variables"`
}

// Environment is a function's environment as given.
type Environment struct {
	Variables map[string]string `json:"Variables"`
}

// TracingConfig is the X-Ray tracing mode.
type TracingConfig struct {
	Mode string `json:"Mode"`
}

// Layer is a layer version attached to a function.
type Layer struct {
	Arn      string `json:"Arn"`
	CodeSize int64  `json:"CodeSize"`
}

// DeadLetterConfig names the queue that receives failed async events.
type DeadLetterConfig struct {
	TargetArn string `json:"TargetArn,omitempty"`
}

// EphemeralStorage is the size of /tmp in MB.
type EphemeralStorage struct {
	Size int `json:"Size"`
}

// SnapStart as given.
type SnapStart struct {
	ApplyOn string `json:"ApplyOn"`
}

// SnapStartResponse as returned.
type SnapStartResponse struct {
	ApplyOn            string `json:"ApplyOn"`
	OptimizationStatus string `json:"OptimizationStatus"`
}

// RuntimeVersionConfig names the runtime version in use.
type RuntimeVersionConfig struct {
	RuntimeVersionArn string `json:"RuntimeVersionArn"`
}

// LoggingConfig says how the function's logs are formatted and where they go.
type LoggingConfig struct {
	LogFormat           string `json:"LogFormat,omitempty"`
	ApplicationLogLevel string `json:"ApplicationLogLevel,omitempty"`
	SystemLogLevel      string `json:"SystemLogLevel,omitempty"`
	LogGroup            string `json:"LogGroup,omitempty"`
}

// VpcConfig as given. Cloister has no VPCs: a non-empty one is rejected.
type VpcConfig struct {
	SubnetIds               []string `json:"SubnetIds"`
	SecurityGroupIds        []string `json:"SecurityGroupIds"`
	Ipv6AllowedForDualStack *bool    `json:"Ipv6AllowedForDualStack"`
}

// FunctionCode is the code of CreateFunction.
type FunctionCode struct {
	ZipFile         []byte `json:"ZipFile"`
	S3Bucket        string `json:"S3Bucket"`
	S3Key           string `json:"S3Key"`
	S3ObjectVersion string `json:"S3ObjectVersion"`
	ImageUri        string `json:"ImageUri"`
}

// CreateInput is CreateFunction's request body.
type CreateInput struct {
	FunctionName         *string           `json:"FunctionName"`
	Runtime              *string           `json:"Runtime"`
	Role                 *string           `json:"Role"`
	Handler              *string           `json:"Handler"`
	Code                 *FunctionCode     `json:"Code"`
	Description          *string           `json:"Description"`
	Timeout              *int              `json:"Timeout"`
	MemorySize           *int              `json:"MemorySize"`
	Publish              bool              `json:"Publish"`
	VpcConfig            *VpcConfig        `json:"VpcConfig"`
	PackageType          *string           `json:"PackageType"`
	DeadLetterConfig     *DeadLetterConfig `json:"DeadLetterConfig"`
	Environment          *Environment      `json:"Environment"`
	KMSKeyArn            *string           `json:"KMSKeyArn"`
	TracingConfig        *TracingConfig    `json:"TracingConfig"`
	Tags                 map[string]string `json:"Tags"`
	Layers               []string          `json:"Layers"`
	FileSystemConfigs    []map[string]any  `json:"FileSystemConfigs"`
	ImageConfig          map[string]any    `json:"ImageConfig"`
	CodeSigningConfigArn *string           `json:"CodeSigningConfigArn"`
	Architectures        []string          `json:"Architectures"`
	EphemeralStorage     *EphemeralStorage `json:"EphemeralStorage"`
	SnapStart            *SnapStart        `json:"SnapStart"`
	LoggingConfig        *LoggingConfig    `json:"LoggingConfig"`
}

// UpdateConfigInput is UpdateFunctionConfiguration's request body.
type UpdateConfigInput struct {
	Role              *string           `json:"Role"`
	Handler           *string           `json:"Handler"`
	Description       *string           `json:"Description"`
	Timeout           *int              `json:"Timeout"`
	MemorySize        *int              `json:"MemorySize"`
	VpcConfig         *VpcConfig        `json:"VpcConfig"`
	Environment       *Environment      `json:"Environment"`
	Runtime           *string           `json:"Runtime"`
	DeadLetterConfig  *DeadLetterConfig `json:"DeadLetterConfig"`
	KMSKeyArn         *string           `json:"KMSKeyArn"`
	TracingConfig     *TracingConfig    `json:"TracingConfig"`
	RevisionId        *string           `json:"RevisionId"`
	Layers            []string          `json:"Layers"`
	FileSystemConfigs []map[string]any  `json:"FileSystemConfigs"`
	ImageConfig       map[string]any    `json:"ImageConfig"`
	EphemeralStorage  *EphemeralStorage `json:"EphemeralStorage"`
	SnapStart         *SnapStart        `json:"SnapStart"`
	LoggingConfig     *LoggingConfig    `json:"LoggingConfig"`
}

// UpdateCodeInput is UpdateFunctionCode's request body.
type UpdateCodeInput struct {
	ZipFile         []byte   `json:"ZipFile"`
	S3Bucket        *string  `json:"S3Bucket"`
	S3Key           *string  `json:"S3Key"`
	S3ObjectVersion *string  `json:"S3ObjectVersion"`
	ImageUri        *string  `json:"ImageUri"`
	Publish         bool     `json:"Publish"`
	DryRun          bool     `json:"DryRun"`
	RevisionId      *string  `json:"RevisionId"`
	Architectures   []string `json:"Architectures"`
}

// CodeLocation is GetFunction's Code member.
type CodeLocation struct {
	RepositoryType string `json:"RepositoryType"`
	Location       string `json:"Location"`
}

// Concurrency is a function's reserved concurrency.
type Concurrency struct {
	ReservedConcurrentExecutions *int `json:"ReservedConcurrentExecutions,omitempty"`
}

// GetOutput is GetFunction's response.
type GetOutput struct {
	Configuration Configuration     `json:"Configuration"`
	Code          CodeLocation      `json:"Code"`
	Tags          map[string]string `json:"Tags,omitempty"`
	Concurrency   *Concurrency      `json:"Concurrency,omitempty"`
}

// AliasRoutingConfig holds an alias's additional version weights.
type AliasRoutingConfig struct {
	AdditionalVersionWeights map[string]float64 `json:"AdditionalVersionWeights,omitempty"`
}

// Alias is Lambda's AliasConfiguration.
type Alias struct {
	AliasArn        string              `json:"AliasArn"`
	Name            string              `json:"Name"`
	FunctionVersion string              `json:"FunctionVersion"`
	Description     string              `json:"Description"`
	RoutingConfig   *AliasRoutingConfig `json:"RoutingConfig,omitempty"`
	RevisionId      string              `json:"RevisionId"`
}

// AliasInput is the body of CreateAlias and UpdateAlias.
type AliasInput struct {
	Name            *string             `json:"Name"`
	FunctionVersion *string             `json:"FunctionVersion"`
	Description     *string             `json:"Description"`
	RoutingConfig   *AliasRoutingConfig `json:"RoutingConfig"`
	RevisionId      *string             `json:"RevisionId"`
}

// Destination is an async-invocation destination.
type Destination struct {
	Destination string `json:"Destination,omitempty"`
}

// DestinationConfig holds the success and failure destinations.
type DestinationConfig struct {
	OnSuccess *Destination `json:"OnSuccess,omitempty"`
	OnFailure *Destination `json:"OnFailure,omitempty"`
}

// EventInvokeConfig is Lambda's FunctionEventInvokeConfig.
type EventInvokeConfig struct {
	LastModified             float64            `json:"LastModified"`
	FunctionArn              string             `json:"FunctionArn"`
	MaximumRetryAttempts     *int               `json:"MaximumRetryAttempts,omitempty"`
	MaximumEventAgeInSeconds *int               `json:"MaximumEventAgeInSeconds,omitempty"`
	DestinationConfig        *DestinationConfig `json:"DestinationConfig,omitempty"`
}

// EventInvokeInput is the body of Put/UpdateFunctionEventInvokeConfig.
type EventInvokeInput struct {
	MaximumRetryAttempts     *int               `json:"MaximumRetryAttempts"`
	MaximumEventAgeInSeconds *int               `json:"MaximumEventAgeInSeconds"`
	DestinationConfig        *DestinationConfig `json:"DestinationConfig"`
}

// PermissionInput is AddPermission's body.
type PermissionInput struct {
	StatementId         *string `json:"StatementId"`
	Action              *string `json:"Action"`
	Principal           *string `json:"Principal"`
	SourceArn           *string `json:"SourceArn"`
	SourceAccount       *string `json:"SourceAccount"`
	EventSourceToken    *string `json:"EventSourceToken"`
	RevisionId          *string `json:"RevisionId"`
	PrincipalOrgID      *string `json:"PrincipalOrgID"`
	FunctionUrlAuthType *string `json:"FunctionUrlAuthType"`
}

// AccountSettings is GetAccountSettings' response.
type AccountSettings struct {
	AccountLimit AccountLimit `json:"AccountLimit"`
	AccountUsage AccountUsage `json:"AccountUsage"`
}

// AccountLimit is the account's quotas.
type AccountLimit struct {
	TotalCodeSize                  int64 `json:"TotalCodeSize"`
	CodeSizeUnzipped               int64 `json:"CodeSizeUnzipped"`
	CodeSizeZipped                 int64 `json:"CodeSizeZipped"`
	ConcurrentExecutions           int   `json:"ConcurrentExecutions"`
	UnreservedConcurrentExecutions int   `json:"UnreservedConcurrentExecutions"`
}

// AccountUsage is the account's usage.
type AccountUsage struct {
	TotalCodeSize int64 `json:"TotalCodeSize"`
	FunctionCount int64 `json:"FunctionCount"`
}
