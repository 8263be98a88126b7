// Package queries reads a file of questions, one JSON object per line, for
// explain --queries (answered by the engine, offline or live) and probe
// --queries (answered by real connections): one file serves CI and the
// cluster.
//
//	{"from": "frontend-dev/deploy/frontend", "to": "backend-dev/svc/backend", "port": "80", "expect": "allowed"}
//
// from and to use the SOURCE and DEST grammar (docs/design.md); port and
// protocol may be given apart or as to's :PORT/PROTO; expect is optional.
package queries

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"

	corev1 "k8s.io/api/core/v1"

	"github.com/netbaseline/kubectl-netbaseline/internal/endpoint"
	"github.com/netbaseline/kubectl-netbaseline/internal/exit"
	"github.com/netbaseline/kubectl-netbaseline/internal/input"
	"github.com/netbaseline/kubectl-netbaseline/internal/model"
	"github.com/netbaseline/kubectl-netbaseline/internal/policy"
)

// Question is one line of a queries file.
type Question struct {
	// Line is the question's line number in the file (1-based).
	Line     int
	From, To endpoint.Endpoint
	// Ports is the port asked about (empty: every port DEST declares).
	Ports []policy.PortSpec
	// Expect is the verdict the question requires, "" when none.
	Expect policy.Verdict
}

// line is the JSON form of a question.
type line struct {
	From     string `json:"from"`
	To       string `json:"to"`
	Port     string `json:"port"`
	Protocol string `json:"protocol"`
	Expect   string `json:"expect"`
}

// Error is a bad line: its file and number, and what is wrong.
type Error struct {
	Source string
	Line   int
	Err    error
}

func (e *Error) Error() string { return fmt.Sprintf("%s:%d: %v", e.Source, e.Line, e.Err) }
func (e *Error) Unwrap() error { return e.Err }

// maxLine bounds one question's line (a question is short; a huge line is
// a wrong file).
const maxLine = 64 << 10

// Parse reads every question before any is answered: the first bad line is
// an error naming it. Blank lines and lines starting with # are skipped.
// defaultNamespace resolves KIND/NAME without a namespace, as for -n.
func Parse(r io.Reader, source, defaultNamespace string) ([]Question, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 4096), maxLine)
	var out []Question
	n := 0
	for sc.Scan() {
		n++
		text := bytes.TrimSpace(sc.Bytes())
		if len(text) == 0 || text[0] == '#' {
			continue
		}
		q, err := parseLine(text, defaultNamespace)
		if err != nil {
			return nil, &Error{Source: source, Line: n, Err: err}
		}
		q.Line = n
		out = append(out, q)
	}
	if err := sc.Err(); err != nil {
		if errors.Is(err, bufio.ErrTooLong) {
			return nil, &Error{Source: source, Line: n + 1, Err: fmt.Errorf("line longer than %d bytes", maxLine)}
		}
		return nil, fmt.Errorf("%s: %w", source, err)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%s: no questions (one JSON object per line: {\"from\": ..., \"to\": ..., \"port\": ...})", source)
	}
	return out, nil
}

func parseLine(text []byte, defaultNamespace string) (Question, error) {
	var l line
	if err := input.CheckJSON(text); err != nil {
		return Question{}, fmt.Errorf("not a question: %v", err)
	}
	dec := json.NewDecoder(bytes.NewReader(text))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&l); err != nil {
		return Question{}, fmt.Errorf("not a question (a JSON object with from, to, port, protocol, expect): %v", err)
	}
	if dec.More() {
		return Question{}, errors.New("more than one JSON value on the line")
	}
	var q Question
	var err error
	if l.From == "" || l.To == "" {
		return q, errors.New(`"from" and "to" are required`)
	}
	if q.From, err = endpoint.ParseIn(l.From, endpoint.Source, defaultNamespace); err != nil {
		return q, fmt.Errorf("from: %w", err)
	}
	if q.From.Kind == endpoint.Local || q.From.Kind == endpoint.DNSName {
		return q, fmt.Errorf("from %q: questions start at pods or IP addresses", l.From)
	}
	if q.To, err = endpoint.ParseIn(l.To, endpoint.Destination, defaultNamespace); err != nil {
		return q, fmt.Errorf("to: %w", err)
	}
	if q.To.Kind == endpoint.URL {
		return q, fmt.Errorf("to %q: a URL is for probe local", l.To)
	}
	switch {
	case q.To.HasPort() && (l.Port != "" || l.Protocol != ""):
		return q, errors.New(`give the port either in "to" (NS:PORT/PROTO) or as "port" and "protocol", not both`)
	case q.To.HasPort():
		q.Ports = []policy.PortSpec{{Port: q.To.Port, Protocol: q.To.EffectiveProtocol()}}
	case l.Port != "":
		spec := l.Port
		if l.Protocol != "" {
			spec += "/" + l.Protocol
		}
		port, proto, err := endpoint.ParsePortFlag(spec)
		if err != nil {
			return q, fmt.Errorf("port: %w", err)
		}
		if proto == "" {
			proto = corev1.ProtocolTCP
		}
		q.Ports = []policy.PortSpec{{Port: port, Protocol: proto}}
	case l.Protocol != "":
		return q, errors.New(`"protocol" needs a "port"`)
	}
	switch strings.ToLower(l.Expect) {
	case "":
	case "allowed":
		q.Expect = policy.Allowed
	case "denied":
		q.Expect = policy.Denied
	default:
		return q, fmt.Errorf("expect %q: use allowed or denied", l.Expect)
	}
	return q, nil
}

// Answer is a question and the engine's verdicts for it (one per pod pair
// and port the question covers).
type Answer struct {
	Question
	Verdicts []policy.Explanation
}

// Met reports whether every verdict is the expected one (true when the
// question expects nothing).
func (a Answer) Met() bool {
	if a.Expect == "" {
		return true
	}
	for _, v := range a.Verdicts {
		if v.Verdict != a.Expect {
			return false
		}
	}
	return len(a.Verdicts) > 0
}

// Resolved is a question whose endpoints were found in the model.
type Resolved struct {
	Question
	From, To endpoint.Target
}

// Resolve finds every question's endpoints in the model before any is
// answered; the first that cannot be found is an error naming its line.
// serviceWithoutPods keeps a DEST Service that selects no pod (probe shows
// that nothing can answer); explain has no verdict for it.
func Resolve(m *model.Model, source string, qs []Question, serviceWithoutPods bool) ([]Resolved, error) {
	out := make([]Resolved, 0, len(qs))
	resolver := endpoint.NewResolver(m)
	for _, q := range qs {
		from, err := resolver.Resolve(q.From)
		if err != nil {
			return nil, &Error{Source: source, Line: q.Line, Err: fmt.Errorf("from: %w", err)}
		}
		to, err := resolver.Resolve(q.To)
		var noPods *endpoint.NoPodsError
		if err != nil && !(serviceWithoutPods && errors.As(err, &noPods)) {
			return nil, &Error{Source: source, Line: q.Line, Err: fmt.Errorf("to: %w", err)}
		}
		out = append(out, Resolved{Question: q, From: from, To: to})
	}
	return out, nil
}

// Answer evaluates one resolved question with the engine.
func (r Resolved) Answer(e *policy.Engine, source string) (Answer, error) {
	xs, err := e.Explain(policy.Query{From: r.From, To: r.To, Ports: r.Ports})
	if err != nil {
		return Answer{}, &Error{Source: source, Line: r.Line, Err: err}
	}
	return Answer{Question: r.Question, Verdicts: xs}, nil
}

// Namespaces are the namespaces the questions name, for a live read that
// falls back to them when cluster-wide lists are refused.
func Namespaces(qs []Question) []string {
	seen := map[string]bool{}
	var out []string
	for _, q := range qs {
		for _, ns := range []string{q.From.Namespace, q.To.Namespace} {
			if ns != "" && !seen[ns] {
				seen[ns] = true
				out = append(out, ns)
			}
		}
	}
	return out
}

// ResolveFile is Resolve for the questions of the file named path ("-" is
// stdin, named so in messages), with the exit status of a failure: what
// could not be read is exit 1, a question that does not resolve exit 2.
// It returns the name the messages use.
func ResolveFile(m *model.Model, path string, qs []Question, serviceWithoutPods bool) ([]Resolved, string, error) {
	source := path
	if source == "-" {
		source = "stdin"
	}
	resolved, err := Resolve(m, source, qs, serviceWithoutPods)
	if err != nil {
		var unreadable *model.UnreadableError
		if errors.As(err, &unreadable) {
			return nil, source, &exit.Error{Code: exit.Failed, Err: err}
		}
		return nil, source, exit.Usagef("--queries %v", err)
	}
	return resolved, source, nil
}
