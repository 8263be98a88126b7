package cmd

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/kubectl/pkg/util/templates"

	"github.com/netbaseline/kubectl-netbaseline/internal/baseline"
)

var initLong = templates.LongDesc(`
	Write the baseline out as a GitOps tree in the runbook's layout: one folder per
	namespace with numbered files (00-deny-all.yaml, allow-dns.yaml,
	10-allow-to-backend.yaml, 15-allow-from-ingress.yaml, ...) and a Kustomization
	file: both kubectl apply -k DIR/NS and kubectl apply -f DIR/NS (or delete -f)
	work on it.

	The files are self-contained: kubectl kustomize DIR/NAMESPACE and
	kubectl netbaseline render --dir DIR -n NAMESPACE yield the same objects. Commit
	the tree when Argo CD or Flux manages the namespace, so they do not revert the
	policies. Existing files are never overwritten without --force; when any file
	is in the way, nothing is written.`)

var initExample = templates.Examples(`
	# Every namespace of the baseline, under infra/manifests/network-policies/<namespace>/
	kubectl netbaseline init --dir infra/manifests/network-policies

	# One namespace, from your config, replacing earlier output
	kubectl netbaseline init --dir policies -n backend-dev --config netbaseline.yaml --force`)

// InitOptions holds the state of `init`.
type InitOptions struct {
	*GlobalOptions
	baselineFlags

	// Output is init's --dir: where the tree is written.
	Output     string
	Namespaces []string
	Force      bool

	source     *baseline.Source
	namespaces []string
	genericiooptions.IOStreams
}

// NewInitOptions returns options with defaults.
func NewInitOptions(g *GlobalOptions, streams genericiooptions.IOStreams) *InitOptions {
	return &InitOptions{GlobalOptions: g, IOStreams: streams}
}

// NewCmdInit builds `init`.
func NewCmdInit(g *GlobalOptions, streams genericiooptions.IOStreams) *cobra.Command {
	o := NewInitOptions(g, streams)
	c := &cobra.Command{
		Use:     "init --dir PATH [-n NAMESPACE]... [--force]",
		Short:   "Write the baseline overlays out as a GitOps tree",
		Long:    initLong,
		Example: initExample,
		Args:    noArgs,
		RunE:    runCommand(o),
	}
	o.AddFlags(c)
	_ = c.RegisterFlagCompletionFunc("namespace", completeOverlayNamespaces(g, &o.baselineFlags))
	return c
}

// AddFlags binds the flags. --dir is the output here.
func (o *InitOptions) AddFlags(c *cobra.Command) {
	c.Flags().StringVar(&o.Output, "dir", "", "Directory to write one folder per namespace into (required)")
	_ = c.MarkFlagDirname("dir")
	c.Flags().StringSliceVarP(&o.Namespaces, "namespace", "n", nil, "Namespace to write (repeatable); default every namespace of the baseline")
	c.Flags().BoolVar(&o.Force, "force", false, "Overwrite files that already exist")
	o.baselineFlags.addFlags(c, false)
}

// Complete resolves the tree and the namespaces.
func (o *InitOptions) Complete(_ []string) error {
	if o.Output == "" {
		return usageErrorf("--dir is required: the directory to write the tree into")
	}
	// The tree comes from the Config or the embedded baseline.
	src, err := o.baselineFlags.source(o.GlobalOptions)
	if err != nil {
		return err
	}
	o.source = src
	o.namespaces = dedupe(o.Namespaces)
	if len(o.namespaces) == 0 {
		o.namespaces = src.Namespaces()
	}
	return nil
}

// Validate checks the namespaces and the output directory.
func (o *InitOptions) Validate() error {
	for _, ns := range o.namespaces {
		if err := o.source.CheckNamespace(ns); err != nil {
			return err
		}
	}
	if info, err := os.Stat(o.Output); err == nil && !info.IsDir() {
		return usageErrorf("--dir %s: exists and is not a directory", o.Output)
	}
	return nil
}

type initFile struct {
	path string
	data []byte
}

// Run renders every namespace, checks every target, then writes.
func (o *InitOptions) Run(_ context.Context) error {
	var files []initFile
	var existing, stale []string
	var folders []string
	for _, ns := range o.namespaces {
		objs, err := o.source.Render(ns)
		if err != nil {
			return err
		}
		nsFiles, err := baseline.InitFiles(objs)
		if err != nil {
			return err
		}
		folder := filepath.Join(o.Output, ns)
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
					return usageErrorf("%s is a directory; init writes a file there", p)
				}
				existing = append(existing, p)
			} else if !errors.Is(err, os.ErrNotExist) {
				return fmt.Errorf("check %s: %w", p, err)
			}
			files = append(files, initFile{path: p, data: nsFiles[name]})
		}
	}
	if len(existing) > 0 && !o.Force {
		return usageErrorf("refusing to overwrite %d existing file(s) without --force: %s", len(existing), strings.Join(existing, ", "))
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
		fmt.Fprintf(o.ErrOut, "Removed %s (replaced by %s)\n", p, baseline.KustomizationFile)
	}
	for _, folder := range folders {
		o.warnUnlisted(folder, files)
	}
	fmt.Fprintf(o.ErrOut, "Wrote %d file(s) for %s. Check with: kubectl netbaseline render --dir %s -A\n",
		len(files), strings.Join(o.namespaces, ", "), o.Output)
	return nil
}

// warnUnlisted points at YAML files the new Kustomization does not
// list (left from an earlier init or written by hand): kustomize ignores them.
func (o *InitOptions) warnUnlisted(folder string, written []initFile) {
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
			fmt.Fprintf(o.ErrOut, "Warning: %s is not listed in %s and will not be applied by kubectl apply -k (kubectl apply -f would apply it)\n", p, filepath.Join(folder, baseline.KustomizationFile))
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
