package baseline

import (
	"os"
	"path/filepath"
	"strings"

	"sigs.k8s.io/kustomize/api/konfig"

	"github.com/netbaseline/kubectl-netbaseline/internal/input"
)

// preflighter reads a user tree's overlays before kustomize does: every
// YAML file of every kustomization it reaches is read within the run's
// input bound and parsed by the one YAML decoder, whose budgets refuse an
// alias bomb (kustomize would expand it into gigabytes) and whose
// duplicate keys are errors, and entries that fetch from the network
// (URLs, git repos) are refused unless allowRemote: a tree on disk should
// render from disk. A folder is read once per run, however many overlays
// share it.
type preflighter struct {
	in          *input.Reader
	allowRemote bool
	seen        map[string]bool
}

func (p *preflighter) visit(dir string) error {
	abs, err := filepath.Abs(dir)
	if err != nil || p.seen[abs] {
		return err
	}
	p.seen[abs] = true
	entries, err := os.ReadDir(abs)
	if err != nil {
		return nil // kustomize says what is missing
	}
	var kustomization map[string]any
	for _, e := range entries {
		name := e.Name()
		if e.IsDir() || !(strings.HasSuffix(name, ".yaml") || strings.HasSuffix(name, ".yml") || isKustomizationName(name)) {
			continue
		}
		path := filepath.Join(abs, name)
		docs, err := p.parseYAML(path)
		if err != nil {
			return &InputError{Err: err}
		}
		if isKustomizationName(name) && len(docs) > 0 {
			kustomization, _ = docs[0].(map[string]any)
		}
	}
	for _, field := range []string{"resources", "components", "bases", "crds"} {
		list, _ := kustomization[field].([]any)
		for _, item := range list {
			ref, ok := item.(string)
			if !ok {
				continue
			}
			if isRemote(ref, abs) {
				if !p.allowRemote {
					return inputErrorf("%s: %s entry %q fetches from the network; render a tree from disk, or pass --allow-remote to let kustomize fetch it", filepath.Join(abs, kustomizationName(entries)), field, ref)
				}
				continue
			}
			target := ref
			if !filepath.IsAbs(target) {
				target = filepath.Join(abs, ref)
			}
			if info, err := os.Stat(target); err == nil && info.IsDir() {
				if err := p.visit(target); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// parseYAML decodes every document of a file.
func (p *preflighter) parseYAML(path string) ([]any, error) {
	data, err := p.in.Text(path)
	if err != nil {
		return nil, err
	}
	docs, err := input.YAMLDocuments(path, data)
	if err != nil {
		return nil, err
	}
	values := make([]any, len(docs))
	for i, d := range docs {
		values[i] = d.Value
	}
	return values, nil
}

func isKustomizationName(name string) bool {
	for _, n := range konfig.RecognizedKustomizationFileNames() {
		if n == name {
			return true
		}
	}
	return false
}

func kustomizationName(entries []os.DirEntry) string {
	for _, e := range entries {
		if isKustomizationName(e.Name()) {
			return e.Name()
		}
	}
	return konfig.DefaultKustomizationFileName()
}

// isRemote recognises the forms kustomize fetches: URLs, git@host:path,
// go-getter's git:: and //subdir, ?ref=, and host/path names
// (github.com/org/repo) that are not a local path.
func isRemote(ref, base string) bool {
	switch {
	case strings.Contains(ref, "://"), strings.HasPrefix(ref, "git@"), strings.HasPrefix(ref, "git::"),
		strings.Contains(ref, "?ref="), strings.Contains(ref, "//"):
		return true
	}
	first, _, _ := strings.Cut(ref, "/")
	if strings.Contains(first, ".") && first != "." && first != ".." {
		if _, err := os.Stat(filepath.Join(base, ref)); err != nil {
			return true
		}
	}
	return false
}
