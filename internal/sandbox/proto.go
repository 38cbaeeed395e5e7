package sandbox

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
)

// The control channel between the host and a sandbox init is a
// SOCK_SEQPACKET socketpair: one JSON message per packet, file descriptors
// attached with SCM_RIGHTS.
//
//	init -> host  ready      zygote warmed up (root composed, filter assembled)
//	host -> init  start      claim: spec; fds stdout, stderr, /var/task tree,
//	                         [/var/runtime tree], [/opt tree]
//	init -> host  listening  root complete; fds: the listening sockets
//	init -> host  started    the function was exec'd
//	init -> host  exit       the function's wait status; the init then exits
//	init -> host  error      warm-up, claim or start failed; the init exits
//
// Once the function runs, the init shares a uid with code the host does not
// trust, so the host decodes everything strictly and acts on nothing but the
// exit status.

// maxMessage bounds one control message; a Spec within its own limits
// encodes to well under this.
const maxMessage = 256 << 10

// maxFDs bounds the descriptors one message may carry.
const maxFDs = maxListeners + 5

// Message kinds.
const (
	kindReady     = "ready"
	kindStart     = "start"
	kindListening = "listening"
	kindStarted   = "started"
	kindExit      = "exit"
	kindError     = "error"
)

var errProtocol = errors.New("sandbox: control protocol violation")

type message struct {
	Kind      string        `json:"kind"`
	Start     *startMsg     `json:"start,omitempty"`
	Listening *listeningMsg `json:"listening,omitempty"`
	Started   *startedMsg   `json:"started,omitempty"`
	Exit      *exitMsg      `json:"exit,omitempty"`
	Error     string        `json:"error,omitempty"`
}

// startMsg is the part of a Spec the init needs.
type startMsg struct {
	Args     []string `json:"args"`
	Env      []string `json:"env"`
	Hostname string   `json:"hostname"`
	TmpMB    int      `json:"tmpMB"`
	Listen   []string `json:"listen"`
	Runtime  bool     `json:"runtime"` // a /var/runtime tree follows the task tree
	Opt      bool     `json:"opt"`     // an /opt tree follows
	NProc    uint64   `json:"nproc"`   // RLIMIT_NPROC
	CPUs     []int    `json:"cpus,omitempty"`
}

type listeningMsg struct {
	Listeners int `json:"listeners"` // descriptors that follow
}

type startedMsg struct {
	Pid int `json:"pid"` // the function, in the sandbox's pid namespace
}

type exitMsg struct {
	Code   int `json:"code"`
	Signal int `json:"signal"`
}

const maxErrorText = 4096

// fds is the number of descriptors that must accompany m.
func (m *message) fds() int {
	switch {
	case m.Start != nil:
		n := 3
		if m.Start.Runtime {
			n++
		}
		if m.Start.Opt {
			n++
		}
		return n
	case m.Listening != nil:
		return m.Listening.Listeners
	}
	return 0
}

func encode(m message) ([]byte, error) {
	if err := m.validate(); err != nil {
		return nil, err
	}
	b, err := json.Marshal(m)
	if err != nil {
		return nil, fmt.Errorf("sandbox: encode %s: %w", m.Kind, err)
	}
	if len(b) > maxMessage {
		return nil, fmt.Errorf("%w: %s message of %d bytes", ErrInvalidSpec, m.Kind, len(b))
	}
	return b, nil
}

// decode parses one packet that arrived with nfds descriptors. It accepts
// exactly the shapes encode produces.
func decode(b []byte, nfds int) (message, error) {
	var m message
	if len(b) > maxMessage {
		return m, fmt.Errorf("%w: %d-byte message", errProtocol, len(b))
	}
	d := json.NewDecoder(bytes.NewReader(b))
	d.DisallowUnknownFields()
	if err := d.Decode(&m); err != nil {
		return message{}, fmt.Errorf("%w: %v", errProtocol, err)
	}
	if _, err := d.Token(); err != io.EOF {
		return message{}, fmt.Errorf("%w: trailing data", errProtocol)
	}
	if err := m.validate(); err != nil {
		return message{}, err
	}
	if nfds != m.fds() {
		return message{}, fmt.Errorf("%w: %s message with %d descriptors, want %d", errProtocol, m.Kind, nfds, m.fds())
	}
	return m, nil
}

// validate checks that m carries exactly the payload of its kind, and that
// the payload is within bounds.
func (m *message) validate() error {
	payloads := 0
	for _, p := range []bool{m.Start != nil, m.Listening != nil, m.Started != nil, m.Exit != nil, m.Error != ""} {
		if p {
			payloads++
		}
	}
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w: %s message: %s", errProtocol, m.Kind, fmt.Sprintf(format, args...))
	}
	switch m.Kind {
	case kindReady:
		if payloads != 0 {
			return bad("unexpected payload")
		}
	case kindStart:
		if m.Start == nil || payloads != 1 {
			return bad("want exactly a start payload")
		}
		s := m.Start
		if err := checkArgs(s.Args); err != nil {
			return bad("%v", err)
		}
		if err := checkEnv(s.Env); err != nil {
			return bad("%v", err)
		}
		if !hostnameRE.MatchString(s.Hostname) {
			return bad("hostname %q", truncate(s.Hostname))
		}
		if err := checkTmp(s.TmpMB); err != nil {
			return bad("%v", err)
		}
		if err := checkListen(s.Listen); err != nil {
			return bad("%v", err)
		}
		if s.NProc < 16 || s.NProc > 1<<22 {
			return bad("nproc %d", s.NProc)
		}
		if err := checkCPUs(s.CPUs); err != nil {
			return bad("%v", err)
		}
	case kindListening:
		if m.Listening == nil || payloads != 1 {
			return bad("want exactly a listening payload")
		}
		if m.Listening.Listeners < 0 || m.Listening.Listeners > maxListeners {
			return bad("%d listeners", m.Listening.Listeners)
		}
	case kindStarted:
		if m.Started == nil || payloads != 1 {
			return bad("want exactly a started payload")
		}
		if m.Started.Pid < 1 || m.Started.Pid > 1<<22 {
			return bad("pid %d", m.Started.Pid)
		}
	case kindExit:
		if m.Exit == nil || payloads != 1 {
			return bad("want exactly an exit payload")
		}
		e := m.Exit
		if e.Code < -1 || e.Code > 255 || e.Signal < 0 || e.Signal > 64 || (e.Signal != 0) == (e.Code != -1) {
			return bad("code %d signal %d", e.Code, e.Signal)
		}
	case kindError:
		if m.Error == "" || payloads != 1 || len(m.Error) > maxErrorText {
			return bad("want one error text of 1..%d bytes", maxErrorText)
		}
	default:
		return fmt.Errorf("%w: unknown kind %q", errProtocol, truncate(m.Kind))
	}
	return nil
}
