// Command gen-kustomize writes the kustomize tree of the runbook's sample
// app (config.Default) into kustomize/, or of the Config given with -config.
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"sort"

	"github.com/netbaseline/kubectl-netbaseline/internal/baseline"
	"github.com/netbaseline/kubectl-netbaseline/internal/config"
)

func main() {
	out := flag.String("out", "kustomize", "directory to write base/, components/ and overlays/ into")
	configFile := flag.String("config", "", "Config file (default: the runbook's sample app)")
	flag.Parse()
	if err := run(*out, *configFile); err != nil {
		fmt.Fprintln(os.Stderr, "gen-kustomize:", err)
		os.Exit(1)
	}
}

func run(out, configFile string) error {
	cfg := config.Default()
	if configFile != "" {
		var err error
		if cfg, err = config.LoadFile(configFile); err != nil {
			return err
		}
	}
	files, err := baseline.Tree(cfg)
	if err != nil {
		return err
	}
	for _, sub := range []string{"base", "components", "overlays"} {
		if err := os.RemoveAll(filepath.Join(out, sub)); err != nil {
			return err
		}
	}
	names := make([]string, 0, len(files))
	for name := range files {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		p := filepath.Join(out, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(p, files[name], 0o644); err != nil {
			return err
		}
		fmt.Println(p)
	}
	return nil
}
