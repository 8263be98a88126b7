package baseline

import (
	"fmt"

	"sigs.k8s.io/yaml"
)

// fileName is the file init writes a policy to, in the runbook's layout:
// "<phase>-<name>.yaml", except allow-dns.yaml, which the runbook names
// without a number. The order of apply never comes from it.
func fileName(o Object) string {
	if o.GetName() == AllowDNS || o.Phase == PhaseUnknown {
		return o.GetName() + ".yaml"
	}
	return FormatPhase(o.Phase) + "-" + o.GetName() + ".yaml"
}

// KustomizationFile is the name init gives a folder's kustomization:
// kustomize reads it (kubectl apply -k), and having no .yaml extension
// kubectl apply -f and delete -f skip it, so plain -f on the folder works
// too, as the runbook's rollback does.
const KustomizationFile = "Kustomization"

// InitFiles returns the self-contained folder init writes for one
// namespace: one file per rendered object and a Kustomization that lists
// them in phase order, so `kubectl kustomize` on the folder yields the
// same objects as render. Keys are file names inside the folder.
func InitFiles(objs []Object) (map[string][]byte, error) {
	files := make(map[string][]byte, len(objs)+1)
	k := kustomization{APIVersion: "kustomize.config.k8s.io/v1beta1", Kind: "Kustomization"}
	for _, o := range objs {
		name := fileName(o)
		if _, dup := files[name]; dup {
			return nil, fmt.Errorf("two objects would be written to %s", name)
		}
		b, err := yaml.Marshal(o.Object)
		if err != nil {
			return nil, fmt.Errorf("marshal %s: %w", o.GetName(), err)
		}
		files[name] = b
		k.Resources = append(k.Resources, name)
	}
	b, err := marshalYAML(k)
	if err != nil {
		return nil, err
	}
	files[KustomizationFile] = b
	return files, nil
}
