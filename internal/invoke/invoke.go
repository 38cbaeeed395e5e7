package invoke

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/cloister/cloister/internal/api"
	"github.com/cloister/cloister/internal/arn"
	"github.com/cloister/cloister/internal/functions"
	"github.com/cloister/cloister/internal/logs"
)

// logTailBytes is how much of the log Invoke returns with LogType Tail.
const logTailBytes = 4096

// Invoke runs one synchronous invocation.
func (s *Service) Invoke(ctx context.Context, req *api.InvokeRequest) (*api.InvokeResult, error) {
	fn := req.Function
	cfg := fn.Config
	account := arn.Account(cfg.FunctionArn)
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
		inv.deadline = start.Add(timeout)
		e.invocations++
		busyOn, moved := s.place.begin(&e.cpu)
		if moved {
			if err := e.sb.SetCPUs([]int{busyOn}); err != nil {
				e.log.Debug("move to a quiet CPU", "cpu", busyOn, "err", err)
			}
		}
		o, status = e.run(inv)
		s.place.end(busyOn)
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
		s.cfg.Logs.Append(arn.Account(cfg.FunctionArn), cfg.LoggingConfig.LogGroup, out...)
		if r.tail != nil {
			r.tail <- tailOf(out, false)
		}
		return
	}
	if !r.havePeak {
		r.peak, r.havePeak = peakOf(e)
	}
	out = make([]logs.Event, 0, len(seg.lines)+4)
	at(r.start, "START RequestId: "+r.id+" Version: "+cfg.Version)
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
	at(end, reportLine(r, cfg.MemorySize, e.initDuration))
	s.cfg.Logs.Append(arn.Account(cfg.FunctionArn), cfg.LoggingConfig.LogGroup, out...)
	if r.tail != nil {
		r.tail <- tailOf(out, true)
	}
}

// reportLine is an invocation's REPORT line.
func reportLine(r *record, memorySize int, initDuration time.Duration) string {
	ms := float64(r.duration.Microseconds()) / 1000
	b := make([]byte, 0, 192)
	b = append(b, "REPORT RequestId: "...)
	b = append(b, r.id...)
	b = append(b, "\tDuration: "...)
	b = strconv.AppendFloat(b, ms, 'f', 2, 64)
	b = append(b, " ms\tBilled Duration: "...)
	b = strconv.AppendInt(b, int64(math.Ceil(ms)), 10)
	b = append(b, " ms\tMemory Size: "...)
	b = strconv.AppendInt(b, int64(memorySize), 10)
	b = append(b, " MB\tMax Memory Used: "...)
	b = strconv.AppendUint(b, (r.peak+(1<<20)-1)>>20, 10)
	b = append(b, " MB\t"...)
	if r.cold {
		b = append(b, "Init Duration: "...)
		b = strconv.AppendFloat(b, float64(initDuration.Microseconds())/1000, 'f', 2, 64)
		b = append(b, " ms\t"...)
	}
	if r.status == "timeout" {
		b = append(b, "Status: timeout"...)
	}
	return string(b)
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

// newTraceID makes an X-Ray style trace header for the invocation:
// Root=1-{8 hex digits of the epoch second}-{24 hex};Parent={16 hex};Sampled=0.
func newTraceID() string {
	var rnd [20]byte
	_, _ = rand.Read(rnd[:])
	var h [40]byte
	hex.Encode(h[:], rnd[:])
	var sec [4]byte
	binary.BigEndian.PutUint32(sec[:], uint32(time.Now().Unix()))
	b := make([]byte, 0, 76)
	b = append(b, "Root=1-"...)
	b = hex.AppendEncode(b, sec[:])
	b = append(b, '-')
	b = append(b, h[:24]...)
	b = append(b, ";Parent="...)
	b = append(b, h[24:40]...)
	b = append(b, ";Sampled=0"...)
	return string(b)
}
