package baseline

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"sync"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/kustomize/api/konfig"
	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/kyaml/filesys"

	"github.com/netbaseline/kubectl-netbaseline/internal/config"
	"github.com/netbaseline/kubectl-netbaseline/internal/input"
	"github.com/netbaseline/kubectl-netbaseline/kustomize"
)

// Object is one rendered object and its apply phase.
type Object struct {
	*unstructured.Unstructured
	Phase int
}

// Source is a kustomize tree with one overlay per namespace.
type Source struct {
	fs filesys.FileSystem
	// overlayDir maps a namespace to its overlay folder in fs.
	overlayDir func(namespace string) string
	// namespaces lists, in order, the namespaces that have an overlay.
	namespaces []string
	// Description says where the tree comes from, for messages.
	Description string
	// preflight reads the user's tree (--dir) before kustomize does; nil
	// for the trees the plugin generates.
	preflight *preflighter
}

// InputError is bad input from the user (a tree, a namespace, a file);
// commands map it to the "invalid usage" exit code.
type InputError struct{ Err error }

func (e *InputError) Error() string { return e.Err.Error() }
func (e *InputError) Unwrap() error { return e.Err }

func inputErrorf(format string, args ...any) error {
	return &InputError{Err: fmt.Errorf(format, args...)}
}

const memRoot = "/netbaseline"

// EmbeddedSource is the kustomize/ tree compiled into the binary: the
// runbook's sample app.
func EmbeddedSource() (*Source, error) {
	mem := filesys.MakeFsInMemory()
	err := fs.WalkDir(kustomize.FS, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() || !strings.HasSuffix(p, ".yaml") {
			return nil
		}
		b, err := fs.ReadFile(kustomize.FS, p)
		if err != nil {
			return err
		}
		return mem.WriteFile(path.Join(memRoot, p), b)
	})
	if err != nil {
		return nil, fmt.Errorf("read embedded kustomize tree: %w", err)
	}
	return memorySource(mem, config.Default().NamespaceNames(), "the embedded baseline"), nil
}

// ConfigSource generates the tree for a Config in memory.
func ConfigSource(cfg *config.Config, description string) (*Source, error) {
	files, err := Tree(cfg)
	if err != nil {
		return nil, err
	}
	mem := filesys.MakeFsInMemory()
	for name, b := range files {
		if err := mem.WriteFile(path.Join(memRoot, name), b); err != nil {
			return nil, err
		}
	}
	return memorySource(mem, cfg.NamespaceNames(), description), nil
}

func memorySource(mem filesys.FileSystem, namespaces []string, description string) *Source {
	return &Source{
		fs:          mem,
		overlayDir:  func(ns string) string { return path.Join(memRoot, "overlays", ns) },
		namespaces:  namespaces,
		Description: description,
	}
}

// DirSource is the user's own tree: one folder per namespace, each with a
// kustomization file. Entries that fetch from the network are refused
// unless allowRemote.
func DirSource(in *input.Reader, dir string, allowRemote bool) (*Source, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, inputErrorf("--dir %s: %v", dir, err)
	}
	info, err := os.Stat(abs)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, inputErrorf("--dir %s: no such directory", dir)
		}
		return nil, inputErrorf("--dir %s: %v", dir, err)
	}
	if !info.IsDir() {
		return nil, inputErrorf("--dir %s: not a directory", dir)
	}
	entries, err := os.ReadDir(abs)
	if err != nil {
		return nil, inputErrorf("--dir %s: %v", dir, err)
	}
	var namespaces []string
	for _, e := range entries {
		if e.IsDir() && hasKustomization(filepath.Join(abs, e.Name())) {
			namespaces = append(namespaces, e.Name())
		}
	}
	sort.Strings(namespaces)
	return &Source{
		fs:          filesys.MakeFsOnDisk(),
		overlayDir:  func(ns string) string { return filepath.Join(abs, ns) },
		namespaces:  namespaces,
		Description: dir,
		preflight:   &preflighter{in: in, allowRemote: allowRemote, seen: map[string]bool{}},
	}, nil
}

func hasKustomization(dir string) bool {
	for _, name := range konfig.RecognizedKustomizationFileNames() {
		if _, err := os.Stat(filepath.Join(dir, name)); err == nil {
			return true
		}
	}
	return false
}

// Namespaces lists the namespaces that have an overlay.
func (s *Source) Namespaces() []string { return append([]string(nil), s.namespaces...) }

// HasNamespace reports whether the namespace has an overlay.
func (s *Source) HasNamespace(ns string) bool {
	for _, n := range s.namespaces {
		if n == ns {
			return true
		}
	}
	return false
}

// CheckNamespace returns an InputError naming the known namespaces when
// the namespace has no overlay.
func (s *Source) CheckNamespace(namespace string) error {
	if s.HasNamespace(namespace) {
		return nil
	}
	known := "none"
	if len(s.namespaces) > 0 {
		known = strings.Join(s.namespaces, ", ")
	}
	return inputErrorf("no overlay for namespace %q in %s (namespaces with an overlay: %s)", namespace, s.Description, known)
}

// CheckNamespaces checks every namespace before any work starts.
func (s *Source) CheckNamespaces(namespaces []string) error {
	for _, ns := range namespaces {
		if err := s.CheckNamespace(ns); err != nil {
			return err
		}
	}
	return nil
}

// RenderAll renders every namespace, so that a failure happens before
// anything is printed or sent.
func (s *Source) RenderAll(namespaces []string) (map[string][]Object, error) {
	out := make(map[string][]Object, len(namespaces))
	for _, ns := range namespaces {
		objs, err := s.Render(ns)
		if err != nil {
			return nil, err
		}
		out[ns] = objs
	}
	return out, nil
}

// krusty keeps package-level state (the OpenAPI schema); runs must not overlap.
var krustyMu sync.Mutex

// Render builds a namespace's overlay and returns its objects in phase
// order. Every object must belong to that namespace.
func (s *Source) Render(namespace string) ([]Object, error) {
	if err := s.CheckNamespace(namespace); err != nil {
		return nil, err
	}
	dir := s.overlayDir(namespace)
	if s.preflight != nil {
		if err := s.preflight.visit(dir); err != nil {
			return nil, err
		}
	}

	krustyMu.Lock()
	resources, err := krusty.MakeKustomizer(krusty.MakeDefaultOptions()).Run(s.fs, dir)
	krustyMu.Unlock()
	if err != nil {
		where := dir
		if strings.Contains(err.Error(), "invalid Kustomization") {
			// kustomize does not say which file it could not read.
			where = kustomizationFile(s.fs, dir)
		}
		return nil, &InputError{Err: fmt.Errorf("kustomize build %s: %w", displayPath(where), err)}
	}

	objs := make([]Object, 0, resources.Size())
	for _, r := range resources.Resources() {
		// Through JSON, so numbers become int64 as in objects from the API
		// (r.Map() yields int, which DeepCopy rejects).
		data, err := r.MarshalJSON()
		if err != nil {
			return nil, &InputError{Err: fmt.Errorf("kustomize build %s: %w", displayPath(dir), err)}
		}
		u := &unstructured.Unstructured{}
		if err := u.UnmarshalJSON(data); err != nil {
			return nil, &InputError{Err: fmt.Errorf("kustomize build %s: %s: %w", displayPath(dir), r.CurId(), err)}
		}
		id := fmt.Sprintf("%s/%s", strings.ToLower(u.GetKind()), u.GetName())
		switch u.GetNamespace() {
		case namespace:
		case "":
			u.SetNamespace(namespace)
		default:
			return nil, inputErrorf("%s: %s is in namespace %q, not %q; set `namespace: %s` in its kustomization", displayPath(dir), id, u.GetNamespace(), namespace, namespace)
		}
		phase, err := phaseOf(u.GetName(), u.GetAnnotations())
		if err != nil {
			return nil, inputErrorf("%s: %s: %v", displayPath(dir), id, err)
		}
		objs = append(objs, Object{Unstructured: u, Phase: phase})
	}
	sortByPhase(objs)
	return objs, nil
}

func kustomizationFile(fsys filesys.FileSystem, dir string) string {
	for _, name := range konfig.RecognizedKustomizationFileNames() {
		if p := filepath.Join(dir, name); fsys.Exists(p) {
			return p
		}
	}
	return dir
}

// displayPath hides the in-memory root from messages.
func displayPath(p string) string {
	if rel, ok := strings.CutPrefix(p, memRoot+"/"); ok {
		return rel
	}
	return p
}
