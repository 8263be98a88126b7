package config

import (
	"errors"
	"fmt"
	"os"
	"sort"

	"sigs.k8s.io/yaml"
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

// Parse decodes a Config strictly (unknown fields are errors), applies the
// defaults and validates it.
func Parse(source string, data []byte) (*Config, error) {
	var cfg Config
	if err := yaml.UnmarshalStrict(data, &cfg); err != nil {
		return nil, &InvalidError{Source: source, Problems: []string{err.Error()}}
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
