// Package exit holds the exit statuses every command shares and the one
// error type that carries a status from a use case up to main
// (docs/design.md, "Exit codes"). Use cases return it; the command layer
// only maps it to the process status.
package exit

import (
	"errors"
	"fmt"
)

// Exit statuses. diff follows kubectl diff instead: 0 no differences, 1
// differences, >1 error.
const (
	OK = 0
	// Failed: the work could not be done (cluster access, API errors).
	Failed = 1
	// Usage: invalid flags, arguments or input files.
	Usage = 2
	// Unmet: done, but expectations were not met.
	Unmet = 3
)

// Error carries an exit status up to main. A silent error has already
// told the user what happened (e.g. a probe table with mismatches).
type Error struct {
	Code   int
	Err    error
	Silent bool
}

func (e *Error) Error() string {
	if e.Err == nil {
		return fmt.Sprintf("exit status %d", e.Code)
	}
	return e.Err.Error()
}

func (e *Error) Unwrap() error { return e.Err }

// Usagef reports invalid usage or input (exit 2).
func Usagef(format string, args ...any) error {
	return &Error{Code: Usage, Err: fmt.Errorf(format, args...)}
}

// Failedf reports work that could not be done (exit 1).
func Failedf(format string, args ...any) error {
	return &Error{Code: Failed, Err: fmt.Errorf(format, args...)}
}

// Unmetf reports expectations that were not met (exit 3).
func Unmetf(format string, args ...any) error {
	return &Error{Code: Unmet, Err: fmt.Errorf(format, args...)}
}

// StatusOf is the exit status an error carries: its *Error's code, 1 for
// any other error, 0 for none.
func StatusOf(err error) int {
	var e *Error
	switch {
	case errors.As(err, &e):
		return e.Code
	case err != nil:
		return Failed
	}
	return OK
}
