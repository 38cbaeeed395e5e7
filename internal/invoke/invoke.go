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
				LogTail: s.tailOfInitFailure(req, cfg.FunctionName, account)}, nil
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
		s.finishing(e)
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
	s.finishing(e)
	if status != "ok" {
		// The environment is not reused: kill it before its log is cut, so
		// nothing more is written.
		_ = e.sb.Kill()
	}
	if req.LogTail {
		res.LogTail = s.finish(rec, true)
		return res, nil
	}
	e.wg.Add(1)
	go func() {
		defer e.wg.Done()
		s.finish(rec, false)
	}()
	return res, nil
}

// newInvocation builds the event handed to the runtime.
func (s *Service) newInvocation(req *api.InvokeRequest, fn *functions.Function) *invocation {
	inv := &invocation{
		id:      req.RequestID,
		payload: req.Payload,
		arn:     invokedARN(fn.Config.FunctionArn, fn.Alias),
		traceID: newTraceID(),
		result:  make(chan outcome, 1),
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

// record is what the log needs to know about a finished invocation.
type record struct {
	env      *env
	id       string
	start    time.Time
	duration time.Duration
	status   string
	cold     bool
}

// finish cuts the invocation's log, writes its START/END/REPORT lines,
// readies the environment for the next invocation (or destroys it) and
// returns the log tail when asked.
func (s *Service) finish(r *record, wantTail bool) []byte {
	e := r.env
	if err := e.pipe.sync(time.Second); err != nil && !errors.Is(err, errPipeClosed) {
		e.log.Warn("log sync", "err", err)
	}
	lines, truncated := e.pipe.take()
	peak, _ := e.sb.PeakMemory()
	reuse := r.status == "ok"
	if reuse {
		if err := e.sb.ResetPeakMemory(); err != nil {
			e.log.Debug("reset peak memory", "err", err)
		}
	}

	cfg := e.cfg
	var out []logs.Event
	at := func(t time.Time, msg string) {
		out = append(out, logs.Event{Time: t, Stream: e.logStream, Message: msg})
	}
	if r.cold {
		at(e.created, fmt.Sprintf("INIT_START Runtime Version: %s\tRuntime Version ARN: arn:aws:lambda:%s::runtime:cloister-%s", cfg.Runtime, s.cfg.Region, cfg.Runtime))
	}
	at(r.start, fmt.Sprintf("START RequestId: %s Version: %s", r.id, cfg.Version))
	for _, l := range lines {
		at(r.start, l)
	}
	if truncated {
		at(r.start, "[cloister] log output of this invocation was truncated")
	}
	end := r.start.Add(r.duration)
	if r.status == "timeout" {
		at(end, fmt.Sprintf("%s %s Task timed out after %.2f seconds", end.UTC().Format("2006-01-02T15:04:05.000Z"), r.id, float64(cfg.Timeout)))
	}
	at(end, "END RequestId: "+r.id)
	ms := float64(r.duration.Microseconds()) / 1000
	report := fmt.Sprintf("REPORT RequestId: %s\tDuration: %.2f ms\tBilled Duration: %d ms\tMemory Size: %d MB\tMax Memory Used: %d MB\t",
		r.id, ms, int64(math.Ceil(ms)), cfg.MemorySize, (peak+(1<<20)-1)>>20)
	if r.cold {
		report += fmt.Sprintf("Init Duration: %.2f ms\t", float64(e.initDuration.Microseconds())/1000)
	}
	if r.status == "timeout" {
		report += "Status: timeout"
	}
	at(end, report)
	s.cfg.Logs.Append(accountOf(cfg.FunctionArn), cfg.LoggingConfig.LogGroup, out...)
	s.release(e, reuse)

	if !wantTail {
		return nil
	}
	var b strings.Builder
	for _, ev := range out {
		if ev.Message == out[0].Message && r.cold {
			continue // INIT_START is not part of an invocation's tail
		}
		b.WriteString(ev.Message)
		b.WriteByte('\n')
	}
	tail := b.String()
	if len(tail) > logTailBytes {
		tail = tail[len(tail)-logTailBytes:]
	}
	return []byte(tail)
}

// appendLog writes lines of an environment outside any invocation (a failed
// init) to its function's log.
func (s *Service) appendLog(e *env, lines []string) {
	evs := make([]logs.Event, 0, len(lines)+1)
	evs = append(evs, logs.Event{Time: e.created, Stream: e.logStream,
		Message: fmt.Sprintf("INIT_START Runtime Version: %s", e.cfg.Runtime)})
	for _, l := range lines {
		evs = append(evs, logs.Event{Time: time.Now(), Stream: e.logStream, Message: l})
	}
	s.cfg.Logs.Append(accountOf(e.cfg.FunctionArn), e.cfg.LoggingConfig.LogGroup, evs...)
}

// tailOfInitFailure is the log tail of an invocation whose environment
// failed to start: the init output that was just logged.
func (s *Service) tailOfInitFailure(req *api.InvokeRequest, name, account string) []byte {
	if !req.LogTail {
		return nil
	}
	evs := s.cfg.Logs.Read(account, req.Function.Config.LoggingConfig.LogGroup, "", 64)
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
