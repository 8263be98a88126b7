package config

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"reflect"
	"sort"

	yamlv3 "go.yaml.in/yaml/v3"

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
// explicit reports whether a file was read.
func Resolve(path string) (cfg *Config, explicit bool, err error) {
	if path == "" {
		path = os.Getenv(EnvConfig)
	}
	if path == "" {
		return Default(), false, nil
	}
	cfg, err = LoadFile(path)
	return cfg, err == nil, err
}

// LoadFile reads, defaults and validates a Config file.
func LoadFile(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, &InvalidError{Source: path, Problems: []string{"file does not exist"}}
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
	doc, err := decodeOne(data)
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
// into plain maps, lists and scalars.
func decodeOne(data []byte) (any, error) {
	dec := yamlv3.NewDecoder(bytes.NewReader(data))
	var doc any
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, nil
		}
		return nil, fmt.Errorf("not valid YAML: %w", err)
	}
	var next any
	switch err := dec.Decode(&next); {
	case errors.Is(err, io.EOF):
	case err != nil:
		return nil, fmt.Errorf("not valid YAML: %w", err)
	default:
		return nil, errors.New("more than one YAML document: a Config file holds exactly one")
	}
	return normalize(doc)
}

// normalize turns yaml.v3's values into JSON's: string keys only.
func normalize(v any) (any, error) {
	switch t := v.(type) {
	case map[string]any:
		for k, e := range t {
			n, err := normalize(e)
			if err != nil {
				return nil, err
			}
			t[k] = n
		}
		return t, nil
	case map[any]any:
		out := make(map[string]any, len(t))
		for k, e := range t {
			ks, ok := k.(string)
			if !ok {
				return nil, fmt.Errorf("key %v: keys must be strings", k)
			}
			n, err := normalize(e)
			if err != nil {
				return nil, err
			}
			out[ks] = n
		}
		return out, nil
	case []any:
		for i, e := range t {
			n, err := normalize(e)
			if err != nil {
				return nil, err
			}
			t[i] = n
		}
		return t, nil
	}
	return v, nil
}

// typeProblem words a JSON type error with the field path it concerns.
func typeProblem(err error) string {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) && te.Field != "" {
		return fmt.Sprintf("%s: expected %s, got %s", te.Field, te.Type, te.Value)
	}
	return err.Error()
}
