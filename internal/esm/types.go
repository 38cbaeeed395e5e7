package esm

import (
	"encoding/json"
	"errors"
	"strconv"
	"time"

	"github.com/cloister/cloister/internal/functions"
)

// Sentinel errors.
var (
	// ErrInvalidPattern means a filter pattern is not valid; the API
	// reports it as "Invalid filter pattern definition.".
	ErrInvalidPattern = errors.New("esm: invalid filter pattern")
	// ErrClosed means the service has been closed.
	ErrClosed = errors.New("esm: service closed")
)

// States of a mapping, as Lambda reports them.
const (
	StateCreating  = "Creating"
	StateEnabling  = "Enabling"
	StateEnabled   = "Enabled"
	StateDisabling = "Disabling"
	StateDisabled  = "Disabled"
	StateUpdating  = "Updating"
	StateDeleting  = "Deleting"
)

// ReportBatchItemFailures is the one FunctionResponseType SQS mappings take.
const ReportBatchItemFailures = "ReportBatchItemFailures"

// userInitiated is StateTransitionReason for changes a caller asked for.
const userInitiated = "USER_INITIATED"

// Configuration is Lambda's EventSourceMappingConfiguration, with AWS's
// member names.
type Configuration struct {
	UUID                           string          `json:"UUID"`
	BatchSize                      int             `json:"BatchSize"`
	MaximumBatchingWindowInSeconds int             `json:"MaximumBatchingWindowInSeconds"`
	EventSourceArn                 string          `json:"EventSourceArn"`
	EventSourceMappingArn          string          `json:"EventSourceMappingArn"`
	FilterCriteria                 *FilterCriteria `json:"FilterCriteria,omitempty"`
	FunctionArn                    string          `json:"FunctionArn"`
	LastModified                   EpochTime       `json:"LastModified"`
	LastProcessingResult           string          `json:"LastProcessingResult,omitempty"`
	State                          string          `json:"State"`
	StateTransitionReason          string          `json:"StateTransitionReason"`
	FunctionResponseTypes          []string        `json:"FunctionResponseTypes"`
	ScalingConfig                  *ScalingConfig  `json:"ScalingConfig,omitempty"`
}

// FilterCriteria holds a mapping's filters; a record is processed when any
// of them matches.
type FilterCriteria struct {
	Filters []Filter `json:"Filters"`
}

// Filter is one filter: Pattern is a JSON document in Lambda's
// event-filtering pattern language.
type Filter struct {
	Pattern *string `json:"Pattern,omitempty"`
}

// ScalingConfig caps the concurrent invocations one mapping makes.
type ScalingConfig struct {
	MaximumConcurrency *int `json:"MaximumConcurrency,omitempty"`
}

// EpochTime is a time sent as epoch seconds with millisecond precision, as
// Lambda sends an event source mapping's LastModified.
type EpochTime time.Time

// MarshalJSON writes the time as a JSON number of epoch seconds.
func (t EpochTime) MarshalJSON() ([]byte, error) {
	ms := time.Time(t).UnixMilli()
	return []byte(strconv.FormatFloat(float64(ms)/1000, 'f', 3, 64)), nil
}

// CreateInput is CreateEventSourceMapping's request body. Members that
// exist for other event sources are decoded so that they can be refused
// for queues, as Lambda refuses them.
type CreateInput struct {
	EventSourceArn                 *string         `json:"EventSourceArn"`
	FunctionName                   *string         `json:"FunctionName"`
	Enabled                        *bool           `json:"Enabled"`
	BatchSize                      *int            `json:"BatchSize"`
	MaximumBatchingWindowInSeconds *int            `json:"MaximumBatchingWindowInSeconds"`
	FilterCriteria                 *FilterCriteria `json:"FilterCriteria"`
	FunctionResponseTypes          []string        `json:"FunctionResponseTypes"`
	ScalingConfig                  *ScalingConfig  `json:"ScalingConfig"`
	StartingPosition               *string         `json:"StartingPosition"`
	StartingPositionTimestamp      json.RawMessage `json:"StartingPositionTimestamp"`
	Tags                           json.RawMessage `json:"Tags"`
	streamMembers
}

// UpdateInput is UpdateEventSourceMapping's request body.
type UpdateInput struct {
	FunctionName                   *string         `json:"FunctionName"`
	Enabled                        *bool           `json:"Enabled"`
	BatchSize                      *int            `json:"BatchSize"`
	MaximumBatchingWindowInSeconds *int            `json:"MaximumBatchingWindowInSeconds"`
	FilterCriteria                 *FilterCriteria `json:"FilterCriteria"`
	FunctionResponseTypes          []string        `json:"FunctionResponseTypes"`
	ScalingConfig                  *ScalingConfig  `json:"ScalingConfig"`
	streamMembers
}

// streamMembers are members of the Lambda API that apply to streams, Kafka,
// MQ or DocumentDB sources, or to features this server does not offer.
type streamMembers struct {
	BisectBatchOnFunctionError          json.RawMessage `json:"BisectBatchOnFunctionError"`
	DestinationConfig                   json.RawMessage `json:"DestinationConfig"`
	MaximumRecordAgeInSeconds           json.RawMessage `json:"MaximumRecordAgeInSeconds"`
	MaximumRetryAttempts                json.RawMessage `json:"MaximumRetryAttempts"`
	ParallelizationFactor               json.RawMessage `json:"ParallelizationFactor"`
	TumblingWindowInSeconds             json.RawMessage `json:"TumblingWindowInSeconds"`
	Topics                              json.RawMessage `json:"Topics"`
	Queues                              json.RawMessage `json:"Queues"`
	SourceAccessConfigurations          json.RawMessage `json:"SourceAccessConfigurations"`
	SelfManagedEventSource              json.RawMessage `json:"SelfManagedEventSource"`
	SelfManagedKafkaEventSourceConfig   json.RawMessage `json:"SelfManagedKafkaEventSourceConfig"`
	AmazonManagedKafkaEventSourceConfig json.RawMessage `json:"AmazonManagedKafkaEventSourceConfig"`
	DocumentDBEventSourceConfig         json.RawMessage `json:"DocumentDBEventSourceConfig"`
	ProvisionedPollerConfig             json.RawMessage `json:"ProvisionedPollerConfig"`
	KMSKeyArn                           json.RawMessage `json:"KMSKeyArn"`
	MetricsConfig                       json.RawMessage `json:"MetricsConfig"`
	LoggingConfig                       json.RawMessage `json:"LoggingConfig"`
}

// ListInput selects mappings for ListEventSourceMappings.
type ListInput struct {
	// EventSourceArn, when set, keeps the mappings of that queue.
	EventSourceArn string
	// FunctionName, when set, keeps the mappings of that function (a name
	// or ARN; with a qualifier, only mappings of that version or alias).
	FunctionName string
	Marker       string
	MaxItems     int
}

// ListPage is one page of ListEventSourceMappings.
type ListPage struct {
	EventSourceMappings []Configuration `json:"EventSourceMappings"`
	NextMarker          string          `json:"NextMarker,omitempty"`
}

// record is a mapping as stored, under its UUID.
type record struct {
	UUID     string        `json:"uuid"`
	Account  string        `json:"account"`
	QueueARN string        `json:"queueArn"`
	Function functions.Ref `json:"function"`
	// FunctionARN is the (possibly qualified) function ARN as mapped.
	FunctionARN    string   `json:"functionArn"`
	BatchSize      int      `json:"batchSize"`
	Window         int      `json:"window"`
	Filters        []string `json:"filters,omitempty"`
	ReportFailures bool     `json:"reportFailures,omitempty"`
	MaxConcurrency int      `json:"maxConcurrency,omitempty"`
	// Enabled is what the caller asked for; State says how far the
	// servers got.
	Enabled          bool   `json:"enabled"`
	State            string `json:"state"`
	StateReason      string `json:"stateReason"`
	LastModified     int64  `json:"lastModified"` // unix ms
	LastResult       string `json:"lastResult,omitempty"`
	LastResultUpdate int64  `json:"lastResultUpdate,omitempty"` // unix ms
	// Claim is the claims-bucket key this mapping holds.
	Claim string `json:"claim"`
}

// config is the record as the API returns it.
func (r *record) config(region string) Configuration {
	c := Configuration{
		UUID:                           r.UUID,
		BatchSize:                      r.BatchSize,
		MaximumBatchingWindowInSeconds: r.Window,
		EventSourceArn:                 r.QueueARN,
		EventSourceMappingArn:          MappingARN(region, r.Account, r.UUID),
		FunctionArn:                    r.FunctionARN,
		LastModified:                   EpochTime(time.UnixMilli(r.LastModified)),
		LastProcessingResult:           r.LastResult,
		State:                          r.State,
		StateTransitionReason:          r.StateReason,
		FunctionResponseTypes:          []string{},
	}
	if len(r.Filters) > 0 {
		c.FilterCriteria = &FilterCriteria{Filters: make([]Filter, len(r.Filters))}
		for i := range r.Filters {
			p := r.Filters[i]
			c.FilterCriteria.Filters[i] = Filter{Pattern: &p}
		}
	}
	if r.ReportFailures {
		c.FunctionResponseTypes = []string{ReportBatchItemFailures}
	}
	if r.MaxConcurrency > 0 {
		n := r.MaxConcurrency
		c.ScalingConfig = &ScalingConfig{MaximumConcurrency: &n}
	}
	return c
}

// MappingARN is the ARN of an event source mapping.
func MappingARN(region, account, uuid string) string {
	return "arn:aws:lambda:" + region + ":" + account + ":event-source-mapping:" + uuid
}
