package e2e

import (
	"encoding/json"
	"io"
	"net/http"
	"testing"
	"time"
)

// The shapes of the CLI's JSON output that the tests look into. Comparisons
// of whole outputs use generic JSON instead.

type fnConfig struct {
	FunctionName     string
	FunctionArn      string
	Runtime          string
	Role             string
	Handler          string
	Description      string
	Version          string
	CodeSha256       string
	CodeSize         int64
	Timeout          int
	MemorySize       int
	RevisionId       string
	State            string
	LastUpdateStatus string
	LastModified     string
	Environment      *struct{ Variables map[string]string }
}

type getFunctionOut struct {
	Configuration fnConfig
	Code          struct{ RepositoryType, Location string }
	Tags          map[string]string
	Concurrency   *concurrencyOut
}

type concurrencyOut struct {
	ReservedConcurrentExecutions *int
}

type listFunctionsOut struct {
	Functions  []fnConfig
	NextMarker string
	NextToken  string
}

type listVersionsOut struct {
	Versions []fnConfig
}

type aliasOut struct {
	AliasArn        string
	Name            string
	FunctionVersion string
	Description     string
	RevisionId      string
	RoutingConfig   *struct{ AdditionalVersionWeights map[string]float64 }
}

type listAliasesOut struct {
	Aliases []aliasOut
}

type policyDoc struct {
	Version   string
	Id        string
	Statement []policyStatement
}

type policyStatement struct {
	Sid       string
	Effect    string
	Principal any
	Action    any
	Resource  any
	Condition map[string]map[string]any
}

type getPolicyOut struct {
	Policy     string
	RevisionId string
}

// doc parses the policy document, which Lambda returns as a JSON string.
func (p getPolicyOut) doc(t *testing.T) policyDoc {
	t.Helper()
	var d policyDoc
	if err := json.Unmarshal([]byte(p.Policy), &d); err != nil {
		t.Fatalf("policy %q: %v", p.Policy, err)
	}
	return d
}

type eventInvokeOut struct {
	FunctionArn              string
	MaximumRetryAttempts     *int
	MaximumEventAgeInSeconds *int
	LastModified             any
}

type accountSettingsOut struct {
	AccountLimit struct {
		TotalCodeSize                  int64
		CodeSizeUnzipped               int64
		CodeSizeZipped                 int64
		ConcurrentExecutions           int
		UnreservedConcurrentExecutions int
	}
	AccountUsage struct {
		TotalCodeSize int64
		FunctionCount int
	}
}

// download fetches a GetFunction Code.Location, as a user's curl would.
func download(t *testing.T, url string) []byte {
	t.Helper()
	client := &http.Client{Timeout: 30 * time.Second}
	resp, err := client.Get(url)
	if err != nil {
		t.Fatalf("download code: %v", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("download code: %s: %s", resp.Status, body)
	}
	return body
}
