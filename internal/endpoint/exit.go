package endpoint

import (
	"errors"
	"fmt"

	"github.com/netbaseline/kubectl-netbaseline/internal/exit"
	"github.com/netbaseline/kubectl-netbaseline/internal/model"
)

// ResolveExit is the exit status of an endpoint that could not be
// resolved: one that does not exist is bad input (exit 2), one whose pods
// could not be read a permission problem (exit 1).
func ResolveExit(what string, err error) error {
	var unreadable *model.UnreadableError
	if errors.As(err, &unreadable) {
		return &exit.Error{Code: exit.Failed, Err: fmt.Errorf("%s: %w", what, err)}
	}
	return exit.Usagef("%s: %v", what, err)
}
