package invoke

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/cloister/cloister/internal/api"
	"github.com/cloister/cloister/internal/functions"
	"github.com/cloister/cloister/internal/logs"
)

// logTailBytes is how much of the log Invoke returns with LogType Tail.
const logTailBytes = 4096

// Invoke runs one synchronous invocation.
func (s *Service) Invoke(ctx context.Context, req *api.InvokeRequest) (*api.InvokeResult, error) {
	fn := req.Function
	cfg := fn.Config
	account := accountOf(cfg.FunctionArn)
	_, unreserved := s.cfg.Functions.CachedLimits(account)
	release, err := s.admission.acquire(account, cfg.FunctionName, fn.Reserved, unreserved)
	if err != nil {
		return nil, err
	}
	defer release()

	key := keyFor(fn)
	timeout := time.Duration(cfg.Timeout) * time.Second
	var (
		e      *env
		cold   bool
		inv    *invocation
		o      outcome
		status string
		start  time.Time
	)
	// An idle environment can die between invocations (a runtime that exits
	// after reporting a panic, say). If it dies before its runtime took the
	// event, the invocation moves to a fresh environment, as in Lambda.
	for attempt := 0; ; attempt++ {
		e, cold, err = s.acquire(ctx, key, fn, req.RequestID)
		var failed *initFailure
		if errors.As(err, &failed) {
			return &api.InvokeResult{Payload: failed.payload, FunctionError: "Unhandled", ExecutedVersion: cfg.Version,
				LogTail: tailIf(req.LogTail, failed.tail)}, nil
		}
		if err != nil {
			return nil, err
		}
		inv = s.newInvocation(req, fn)
		start = time.Now()
		inv.deadlineMs = start.Add(timeout).UnixMilli()
		e.invocations++
		e.next <- inv // the environment is ours alone: never blocks
		o, status = e.await(inv, timeout)
		if status != "lost" || attempt >= 2 {
			if status == "lost" {
				status = "crash"
			}
			break
		}
		s.release(e, false)
	}
	duration := time.Since(start)

	res := &api.InvokeResult{ExecutedVersion: cfg.Version}
	switch status {
	case "ok":
		res.Payload = o.payload
		if o.isError {
			res.FunctionError = "Unhandled"
		}
	case "timeout":
		res.FunctionError = "Unhandled"
		res.Payload = errorPayload("Sandbox.Timedout", fmt.Sprintf("RequestId: %s Error: Task timed out after %.2f seconds", req.RequestID, timeout.Seconds()))
	case "crash":
		exit := e.sb.Wait()
		typ := "Runtime.ExitError"
		if exit.OOMKilled {
			typ = "Runtime.OutOfMemory"
		}
		res.FunctionError = "Unhandled"
		res.Payload = errorPayload(typ, fmt.Sprintf("RequestId: %s Error: %s", req.RequestID, exitMessage(exit)))
	}

	rec := &record{env: e, id: req.RequestID, start: start, duration: duration, status: status, cold: cold}
	if req.LogTail {
		rec.tail = make(chan []byte, 1)
	}
	reuse := status == "ok"
	if !reuse {
		// The environment is not reused: kill it before its log is cut, so
		// nothing more is written, and read its peak memory while its
		// cgroup still exists.
		_ = e.sb.Kill()
		rec.peak, rec.havePeak = peakOf(e)
	}
	e.records <- rec
	if err := e.pipe.cut(); err != nil {
		e.log.Warn("cut log", "err", err)
	}
	s.release(e, reuse)
	if rec.tail != nil {
		select {
		case res.LogTail = <-rec.tail:
		case <-time.After(5 * time.Second):
		}
	}
	return res, nil
}

func peakOf(e *env) (uint64, bool) {
	p, err := e.sb.PeakMemory()
	return p, err == nil
}

// record is what the log needs to know about a finished invocation (or, with
// init set, about an environment's start-up).
type record struct {
	env      *env
	init     bool
	id       string
	start    time.Time
	duration time.Duration
	status   string
	cold     bool
	peak     uint64
	havePeak bool
	tail     chan []byte // receives the log tail when not nil
}

// writeLog writes a record's log events: the init output with INIT_START,
// or an invocation's START, output, END and REPORT lines.
func (s *Service) writeLog(r *record, seg segment) {
	e := r.env
	cfg := e.cfg
	var out []logs.Event
	at := func(t time.Time, msg string) {
		out = append(out, logs.Event{Time: t, Stream: e.logStream, Message: msg})
	}
	if r.init {
		at(e.created, fmt.Sprintf("INIT_START Runtime Version: %s\tRuntime Version ARN: arn:aws:lambda:%s::runtime:cloister-%s", cfg.Runtime, s.cfg.Region, cfg.Runtime))
		for _, l := range seg.lines {
			at(e.created, l)
		}
		s.cfg.Logs.Append(accountOf(cfg.FunctionArn), cfg.LoggingConfig.LogGroup, out...)
		if r.tail != nil {
			r.tail <- tailOf(out, false)
		}
		return
	}
	if !r.havePeak {
		r.peak, r.havePeak = peakOf(e)
	}
	at(r.start, fmt.Sprintf("START RequestId: %s Version: %s", r.id, cfg.Version))
	for _, l := range seg.lines {
		at(r.start, l)
	}
	if seg.truncated {
		at(r.start, "[cloister] log output of this invocation was truncated")
	}
	end := r.start.Add(r.duration)
	if r.status == "timeout" {
		at(end, fmt.Sprintf("%s %s Task timed out after %.2f seconds", end.UTC().Format("2006-01-02T15:04:05.000Z"), r.id, float64(cfg.Timeout)))
	}
	at(end, "END RequestId: "+r.id)
	ms := float64(r.duration.Microseconds()) / 1000
	report := fmt.Sprintf("REPORT RequestId: %s\tDuration: %.2f ms\tBilled Duration: %d ms\tMemory Size: %d MB\tMax Memory Used: %d MB\t",
		r.id, ms, int64(math.Ceil(ms)), cfg.MemorySize, (r.peak+(1<<20)-1)>>20)
	if r.cold {
		report += fmt.Sprintf("Init Duration: %.2f ms\t", float64(e.initDuration.Microseconds())/1000)
	}
	if r.status == "timeout" {
		report += "Status: timeout"
	}
	at(end, report)
	s.cfg.Logs.Append(accountOf(cfg.FunctionArn), cfg.LoggingConfig.LogGroup, out...)
	if r.tail != nil {
		r.tail <- tailOf(out, true)
	}
}

// tailOf is the last 4 KB of a record's log as Invoke returns it.
func tailOf(evs []logs.Event, _ bool) []byte {
	var b strings.Builder
	for _, ev := range evs {
		b.WriteString(ev.Message)
		b.WriteByte('\n')
	}
	t := b.String()
	if len(t) > logTailBytes {
		t = t[len(t)-logTailBytes:]
	}
	return []byte(t)
}

// newInvocation builds the event handed to the runtime.
func (s *Service) newInvocation(req *api.InvokeRequest, fn *functions.Function) *invocation {
	inv := &invocation{
		id:      req.RequestID,
		payload: req.Payload,
		arn:     invokedARN(fn.Config.FunctionArn, fn.Alias),
		traceID: newTraceID(),
		result:  make(chan outcome, 1),
		depth:   req.Depth,
	}
	if len(inv.payload) == 0 {
		inv.payload = []byte("{}")
	}
	if req.ClientContext != "" {
		if raw, err := base64.StdEncoding.DecodeString(req.ClientContext); err == nil {
			inv.clientContext = string(raw)
		}
	}
	return inv
}

// await waits for the runtime's answer to inv: "ok" (o is set), "timeout",
// "crash" (the sandbox died while running it) or "lost" (the sandbox died
// before its runtime took the event).
func (e *env) await(inv *invocation, timeout time.Duration) (outcome, string) {
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	select {
	case o := <-inv.result:
		return o, "ok"
	case <-timer.C:
		select {
		case o := <-inv.result: // answered at the wire
			return o, "ok"
		default:
			return outcome{}, "timeout"
		}
	case <-e.sb.Done():
		select {
		case o := <-inv.result:
			return o, "ok"
		default:
		}
		if !inv.taken.Load() {
			return outcome{}, "lost"
		}
		return outcome{}, "crash"
	}
}

func tailIf(want bool, tail []byte) []byte {
	if !want {
		return nil
	}
	return tail
}

// invokedARN is the ARN the caller used: the alias ARN when invoked through
// an alias, else the version's ARN.
func invokedARN(versionARN, alias string) string {
	if alias == "" {
		return versionARN
	}
	i := strings.LastIndex(versionARN, ":function:")
	rest := versionARN[i+len(":function:"):]
	if j := strings.IndexByte(rest, ':'); j >= 0 {
		rest = rest[:j]
	}
	return versionARN[:i] + ":function:" + rest + ":" + alias
}

// newTraceID makes an X-Ray style trace header for the invocation.
func newTraceID() string {
	var b [20]byte
	_, _ = rand.Read(b[:])
	h := hex.EncodeToString(b[:])
	return fmt.Sprintf("Root=1-%08x-%s;Parent=%s;Sampled=0", time.Now().Unix(), h[:24], h[24:40])
}
