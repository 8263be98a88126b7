// Package input reads what users hand the plugin (manifests, --config,
// --queries, saved probe results, templates) within one bound: a size
// limit shared by every input of a run, text decoded from its byte-order
// mark, and one YAML decoder with budgets on aliases and depth that
// refuses duplicate keys. Nothing here talks to a cluster.
package input

import (
	"errors"
	"fmt"
	"io"
	"os"

	"k8s.io/apimachinery/pkg/api/resource"
)

// DefaultMaxBytes bounds everything one run reads from files and stdin
// together: ten times the largest generated cluster the benchmarks read
// (50,000 pods, 28 MB), and far below what would exhaust a laptop.
const (
	DefaultMaxBytes = 256 << 20
	DefaultMaxSize  = "256Mi"
)

// FlagName is the global flag that raises (or lowers) the bound.
const FlagName = "max-input-size"

// ErrNotExist is the error for a path that names nothing.
var ErrNotExist = errors.New("no such file or directory")

// Error is input that cannot be used: too large, not text, not valid
// YAML, over a budget. Commands map it to the "invalid usage" exit code.
type Error struct {
	Source string
	Line   int
	Err    error
}

func (e *Error) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("%s:%d: %v", e.Source, e.Line, e.Err)
	}
	return fmt.Sprintf("%s: %v", e.Source, e.Err)
}

func (e *Error) Unwrap() error { return e.Err }

// Reader reads every input of one run within MaxBytes in total. The zero
// value reads nothing from stdin and uses DefaultMaxBytes.
type Reader struct {
	Stdin    io.Reader
	MaxBytes int64
	used     int64
	// stdin is kept once read: a run that reads "-" twice (diff's old and
	// new sides) sees it both times.
	stdin     []byte
	stdinErr  error
	stdinRead bool
}

// NewReader bounds a run's inputs to maxBytes (DefaultMaxBytes when 0).
func NewReader(stdin io.Reader, maxBytes int64) *Reader {
	return &Reader{Stdin: stdin, MaxBytes: maxBytes}
}

func (r *Reader) limit() int64 {
	if r.MaxBytes > 0 {
		return r.MaxBytes
	}
	return DefaultMaxBytes
}

// Source is how a path is named in messages ("-" is stdin).
func Source(path string) string {
	if path == "-" {
		return "stdin"
	}
	return path
}

// Raw reads a file ("-" for stdin) as bytes, within what is left of the
// run's bound.
func (r *Reader) Raw(path string) ([]byte, error) {
	if path == "-" {
		if !r.stdinRead {
			r.stdin, r.stdinErr = r.readStdin()
			r.stdinRead = true
		}
		return r.stdin, r.stdinErr
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, &Error{Source: path, Err: openProblem(err)}
	}
	defer func() { _ = f.Close() }() // read only
	if info, err := f.Stat(); err == nil && info.IsDir() {
		return nil, &Error{Source: path, Err: errors.New("is a directory")}
	}
	return r.bounded(path, f)
}

func (r *Reader) readStdin() ([]byte, error) {
	if r.Stdin == nil {
		return nil, &Error{Source: "stdin", Err: errors.New("no standard input")}
	}
	return r.bounded("-", r.Stdin)
}

// bounded reads in to its end, or refuses it past what is left of the
// run's bound.
func (r *Reader) bounded(path string, in io.Reader) ([]byte, error) {
	before := r.used
	left := r.limit() - before
	data, err := io.ReadAll(io.LimitReader(in, left+1))
	r.used += int64(len(data))
	if err != nil {
		return nil, &Error{Source: Source(path), Err: err}
	}
	if int64(len(data)) > left {
		return nil, &Error{Source: Source(path), Err: r.tooLarge(before > 0)}
	}
	return data, nil
}

// Text reads a file ("-" for stdin) as UTF-8 text: a byte-order mark is
// honoured (UTF-16 is converted), anything else that is not text is
// refused.
func (r *Reader) Text(path string) ([]byte, error) {
	data, err := r.Raw(path)
	if err != nil {
		return nil, err
	}
	text, err := DecodeText(data)
	if err != nil {
		return nil, &Error{Source: Source(path), Err: err}
	}
	return text, nil
}

func (r *Reader) tooLarge(together bool) error {
	limit := resource.NewQuantity(r.limit(), resource.BinarySI)
	if together {
		return fmt.Errorf("with the inputs read before it, over the %s input limit of one run (--%s raises it)", limit, FlagName)
	}
	return fmt.Errorf("larger than the %s input limit (--%s raises it)", limit, FlagName)
}

func openProblem(err error) error {
	switch {
	case errors.Is(err, os.ErrNotExist):
		return ErrNotExist
	case errors.Is(err, os.ErrPermission):
		return errors.New("permission denied")
	}
	var pathErr *os.PathError
	if errors.As(err, &pathErr) {
		return pathErr.Err
	}
	return err
}

// ParseLimit reads the flag's value: a byte count or a quantity (64Mi).
func ParseLimit(s string) (int64, error) {
	q, err := resource.ParseQuantity(s)
	if err != nil {
		return 0, fmt.Errorf("--%s %q: not a size (a byte count or a quantity such as 512Mi)", FlagName, s)
	}
	n, ok := q.AsInt64()
	if !ok || n <= 0 {
		return 0, fmt.Errorf("--%s %q: must be a positive size", FlagName, s)
	}
	return n, nil
}
