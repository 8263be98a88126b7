package config

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"reflect"
	"sort"

	"github.com/netbaseline/kubectl-netbaseline/internal/input"
	"github.com/netbaseline/kubectl-netbaseline/internal/strict"
)

// InvalidError says why a Config cannot be used. Commands map it to the
// "invalid usage" exit code.
type InvalidError struct {
	Source   string
	Problems []string
}

func (e *InvalidError) Error() string {
	if len(e.Problems) == 1 {
		return fmt.Sprintf("invalid config %s: %s", e.Source, e.Problems[0])
	}
	msg := fmt.Sprintf("invalid config %s (%d problems):", e.Source, len(e.Problems))
	for _, p := range e.Problems {
		msg += "\n  - " + p
	}
	return msg
}

// Resolve returns the Config a command should use: the file at path, else
// the file named by $NETBASELINE_CONFIG, else the runbook's sample app.
// explicit reports whether a file was read. The file is read within the
// run's input bound.
func Resolve(in *input.Reader, path string) (cfg *Config, explicit bool, err error) {
	if path == "" {
		path = os.Getenv(EnvConfig)
	}
	if path == "" {
		return Default(), false, nil
	}
	cfg, err = Read(in, path)
	return cfg, err == nil, err
}

// LoadFile reads, defaults and validates a Config file (within the
// default input bound).
func LoadFile(path string) (*Config, error) {
	return Read(input.NewReader(nil, 0), path)
}

// Read reads, defaults and validates a Config file ("-" for stdin).
func Read(in *input.Reader, path string) (*Config, error) {
	data, err := in.Text(path)
	if err != nil {
		var inErr *input.Error
		if errors.As(err, &inErr) && errors.Is(inErr.Err, input.ErrNotExist) {
			return nil, &InvalidError{Source: path, Problems: []string{"file does not exist"}}
		}
		if errors.As(err, &inErr) {
			return nil, &InvalidError{Source: path, Problems: []string{inErr.Err.Error()}}
		}
		return nil, &InvalidError{Source: path, Problems: []string{err.Error()}}
	}
	return Parse(path, data)
}

// Parse decodes a Config strictly, applies the defaults and validates it.
// YAML is read as YAML 1.2, as the manifest loader reads it: a namespace
// called on or a label value yes stays a string, never "true". One
// document only; every unknown field is reported with its path.
func Parse(source string, data []byte) (*Config, error) {
	doc, err := decodeOne(source, data)
	if err != nil {
		return nil, &InvalidError{Source: source, Problems: []string{err.Error()}}
	}
	if unknown := strict.UnknownFields(doc, reflect.TypeOf(Config{}), ""); len(unknown) > 0 {
		return nil, &InvalidError{Source: source, Problems: unknown}
	}
	raw, err := json.Marshal(doc)
	if err != nil {
		return nil, &InvalidError{Source: source, Problems: []string{err.Error()}}
	}
	var cfg Config
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&cfg); err != nil {
		return nil, &InvalidError{Source: source, Problems: []string{typeProblem(err)}}
	}
	// An empty document is a mistake, not a request for the defaults.
	if cfg.APIVersion == "" && cfg.Kind == "" {
		return nil, &InvalidError{Source: source, Problems: []string{fmt.Sprintf("not a Config document: apiVersion %q and kind %q are required", APIVersion, Kind)}}
	}
	cfg.SetDefaults()
	if errs := cfg.Validate(); len(errs) > 0 {
		problems := make([]string, 0, len(errs))
		for _, e := range errs {
			problems = append(problems, e.Error())
		}
		sort.Strings(problems)
		return nil, &InvalidError{Source: source, Problems: problems}
	}
	return &cfg, nil
}

// decodeOne reads the single YAML 1.2 (or JSON) document of a Config file
// into plain maps, lists and scalars, through the one decoder every input
// goes through (duplicate keys, alias and depth budgets).
func decodeOne(source string, data []byte) (any, error) {
	docs, err := input.YAMLDocuments(source, data)
	if err != nil {
		var inErr *input.Error
		if errors.As(err, &inErr) {
			if inErr.Line > 0 {
				return nil, fmt.Errorf("line %d: %w", inErr.Line, inErr.Err)
			}
			return nil, inErr.Err
		}
		return nil, err
	}
	switch len(docs) {
	case 0:
		return nil, nil
	case 1:
		return docs[0].Value, nil
	}
	return nil, errors.New("more than one YAML document: a Config file holds exactly one")
}

// typeProblem words a JSON type error with the field path it concerns.
func typeProblem(err error) string {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) && te.Field != "" {
		return fmt.Sprintf("%s: expected %s, got %s", te.Field, te.Type, te.Value)
	}
	return err.Error()
}
