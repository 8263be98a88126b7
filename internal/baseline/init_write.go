package baseline

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/netbaseline/kubectl-netbaseline/internal/exit"
)

type initFile struct {
	path string
	data []byte
}

// Init writes the baseline of some namespaces as the user's own tree
// (one folder per namespace, each with its Kustomization): init's use
// case.
type Init struct {
	Source     *Source
	Namespaces []string
	Dir        string
	// Force overwrites existing files.
	Force       bool
	Out, ErrOut io.Writer
}

// Write renders every namespace, checks every target, then writes: one
// path per line on Out, what it replaced and a hint on ErrOut. Existing
// files without Force are bad input (exit 2), nothing written.
func (o Init) Write() error {
	var files []initFile
	var existing, stale []string
	var folders []string
	for _, ns := range o.Namespaces {
		objs, err := o.Source.Render(ns)
		if err != nil {
			return err
		}
		nsFiles, err := InitFiles(objs)
		if err != nil {
			return err
		}
		folder := filepath.Join(o.Dir, ns)
		folders = append(folders, folder)
		names := make([]string, 0, len(nsFiles))
		for name := range nsFiles {
			names = append(names, name)
		}
		sort.Strings(names)
		// An older kustomization file beside the new one would make
		// kustomize refuse the folder: it is replaced like any other.
		for _, old := range []string{"kustomization.yaml", "kustomization.yml"} {
			p := filepath.Join(folder, old)
			if _, err := os.Stat(p); err == nil {
				existing = append(existing, p)
				stale = append(stale, p)
			}
		}
		for _, name := range names {
			p := filepath.Join(folder, name)
			if info, err := os.Stat(p); err == nil {
				if info.IsDir() {
					return exit.Usagef("%s is a directory; init writes a file there", p)
				}
				existing = append(existing, p)
			} else if !errors.Is(err, os.ErrNotExist) {
				return fmt.Errorf("check %s: %w", p, err)
			}
			files = append(files, initFile{path: p, data: nsFiles[name]})
		}
	}
	if len(existing) > 0 && !o.Force {
		return exit.Usagef("refusing to overwrite %d existing file(s) without --force: %s", len(existing), strings.Join(existing, ", "))
	}

	for _, f := range files {
		if err := writeFileAtomic(f.path, f.data); err != nil {
			return err
		}
		fmt.Fprintln(o.Out, f.path)
	}
	for _, p := range stale {
		if err := os.Remove(p); err != nil {
			return fmt.Errorf("remove %s: %w", p, err)
		}
		fmt.Fprintf(o.ErrOut, "Removed %s (replaced by %s)\n", p, KustomizationFile)
	}
	for _, folder := range folders {
		o.warnUnlisted(folder, files)
	}
	fmt.Fprintf(o.ErrOut, "Wrote %d file(s) for %s. Check with: kubectl netbaseline render --dir %s -A\n",
		len(files), strings.Join(o.Namespaces, ", "), o.Dir)
	return nil
}

// warnUnlisted points at YAML files the new Kustomization does not
// list (left from an earlier init or written by hand): kustomize ignores them.
func (o Init) warnUnlisted(folder string, written []initFile) {
	ours := map[string]bool{}
	for _, f := range written {
		ours[f.path] = true
	}
	entries, err := os.ReadDir(folder)
	if err != nil {
		return
	}
	for _, e := range entries {
		p := filepath.Join(folder, e.Name())
		if !e.IsDir() && (strings.HasSuffix(p, ".yaml") || strings.HasSuffix(p, ".yml")) && !ours[p] {
			fmt.Fprintf(o.ErrOut, "Warning: %s is not listed in %s and will not be applied by kubectl apply -k (kubectl apply -f would apply it)\n", p, filepath.Join(folder, KustomizationFile))
		}
	}
}

// writeFileAtomic writes through a temporary file so that an interrupted
// run never leaves a half-written policy.
func writeFileAtomic(path string, data []byte) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("create %s: %w", filepath.Dir(path), err)
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		_ = tmp.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := os.Chmod(tmp.Name(), 0o644); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return os.Rename(tmp.Name(), path)
}
