package cmd

import (
	"bytes"

	"github.com/netbaseline/kubectl-netbaseline/internal/input"
	"github.com/netbaseline/kubectl-netbaseline/internal/queries"
)

// readQuestions parses every line of --queries before anything is read
// from the cluster: a bad line is exit 2, naming it.
func (o *ExplainOptions) readQuestions() error {
	qs, err := readQuestions(o.Inputs(), o.Queries, o.DefaultNamespace())
	o.questions = qs
	return err
}

// readQuestions reads a questions file (explain and probe --queries).
func readQuestions(in *input.Reader, path string, defaultNamespace string) ([]queries.Question, error) {
	text, err := in.Text(path)
	if err != nil {
		return nil, usageErrorf("--queries %v", err)
	}
	qs, err := queries.Parse(bytes.NewReader(text), input.Source(path), defaultNamespace)
	if err != nil {
		return nil, usageErrorf("--queries %v", err)
	}
	return qs, nil
}
