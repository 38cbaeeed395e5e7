package invoke

import (
	"sync"

	"github.com/cloister/cloister/internal/awserr"
)

// Throttle reasons, as Lambda reports them.
const (
	reasonReserved = "ReservedFunctionConcurrentInvocationLimitExceeded"
	reasonAccount  = "ConcurrentInvocationLimitExceeded"
)

// admission counts invocations in flight per account and function.
type admission struct {
	mu       sync.Mutex
	accounts map[string]*accountLoad
}

type accountLoad struct {
	unreserved int            // in flight for functions without a reservation
	reserved   map[string]int // in flight per function with a reservation
	functions  map[string]int // in flight per function (all)
}

func newAdmission() *admission { return &admission{accounts: map[string]*accountLoad{}} }

// acquire admits one invocation of fn, or returns TooManyRequestsException.
// unreserved is the account's capacity for functions without a reservation.
func (a *admission) acquire(account, fn string, reserved *int, unreserved int) (func(), error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	l := a.accounts[account]
	if l == nil {
		l = &accountLoad{reserved: map[string]int{}, functions: map[string]int{}}
		a.accounts[account] = l
	}
	if reserved != nil {
		if l.reserved[fn] >= *reserved {
			return nil, throttled(reasonReserved)
		}
		l.reserved[fn]++
	} else {
		if l.unreserved >= unreserved {
			return nil, throttled(reasonAccount)
		}
		l.unreserved++
	}
	l.functions[fn]++
	var once sync.Once
	return func() {
		once.Do(func() {
			a.mu.Lock()
			defer a.mu.Unlock()
			if reserved != nil {
				l.reserved[fn]--
			} else {
				l.unreserved--
			}
			if l.functions[fn]--; l.functions[fn] == 0 {
				delete(l.functions, fn)
				delete(l.reserved, fn)
			}
		})
	}, nil
}

func throttled(reason string) error {
	e := awserr.New(awserr.TooManyRequests, "Rate Exceeded.")
	e.Reason = reason
	e.RetryAfterSeconds = 1
	return e
}
