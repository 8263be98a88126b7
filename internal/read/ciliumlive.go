package read

import (
	"fmt"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/netbaseline/kubectl-netbaseline/internal/model"
)

// ciliumKinds names Cilium's policy resources' kinds.
var ciliumKinds = map[string]string{
	model.CiliumPolicyResource:        model.CiliumNetworkPolicyKind,
	model.CiliumClusterPolicyResource: model.CiliumClusterwideNetworkPolicyKind,
}

// cilium reads Cilium's policies when its CRDs are served (cilium.io/v2):
// Cilium enforces. A list that fails leaves the verdicts it could decide
// unspecified; the cilium-config ConfigMap gives the settings that change
// verdicts (unreadable: the engine follows every enable-policy mode) and
// the cilium DaemonSet's image the version.
func (l *liveLoader) cilium(served map[string]bool) {
	if len(served) == 0 {
		return
	}
	info := &model.CiliumInfo{Source: "Cilium's CRDs (cilium.io/v2) are served"}
	l.m.Cilium = info
	sink := &docSink{defaultNamespace: "default"}
	for _, resource := range []string{model.CiliumPolicyResource, model.CiliumClusterPolicyResource} {
		if !served[resource] {
			continue
		}
		kind := ciliumKinds[resource]
		gvr := schema.GroupVersionResource{Group: model.CiliumGroup, Version: "v2", Resource: resource}
		list, err := l.c.Dynamic.Resource(gvr).List(l.ctx, metav1.ListOptions{})
		if err != nil {
			l.m.OtherLayers = append(l.m.OtherLayers, kind+" (unreadable)")
			l.m.Warnings = append(l.m.Warnings, describeListError(err, resource+"."+model.CiliumGroup)+"; verdicts are unspecified")
			continue
		}
		for i := range list.Items {
			item := &list.Items[i]
			if err := sink.cilium(item.Object, fmt.Sprintf("%s %s", kind, item.GetName())); err != nil {
				l.m.OtherLayers = append(l.m.OtherLayers, kind+" (unreadable)")
				l.m.Warnings = append(l.m.Warnings, fmt.Sprintf("could not read %s %s: %v; verdicts are unspecified", kind, item.GetName(), err))
			}
		}
	}
	loader := &fileLoader{model: l.m, byKey: map[string]*entry{}}
	sink.replay(loader)
	for _, e := range loader.entries {
		e.add(l.m)
	}
	l.ciliumConfig(info)
	l.ciliumVersion(info)
}

func (l *liveLoader) ciliumConfig(info *model.CiliumInfo) {
	if l.c.Kube == nil {
		return
	}
	cm, err := l.c.Kube.CoreV1().ConfigMaps(model.CiliumConfigMapNamespace).Get(l.ctx, model.CiliumConfigMapName, metav1.GetOptions{})
	switch {
	case apierrors.IsNotFound(err):
		// Installed without it (not by Helm or the CLI): the agent's
		// defaults hold.
		info.Config, info.ConfigRead = map[string]string{}, true
	case err != nil:
		info.ConfigUnknown = true
		l.m.Warnings = append(l.m.Warnings, fmt.Sprintf("could not read the cilium-config ConfigMap (%v): Cilium's enable-policy mode is unknown, so verdicts where it matters are unspecified", err))
	default:
		info.Config, info.ConfigRead = ciliumConfig(cm.Data), true
	}
}

func (l *liveLoader) ciliumVersion(info *model.CiliumInfo) {
	if l.c.Kube == nil {
		return
	}
	ds, err := l.c.Kube.AppsV1().DaemonSets(model.CiliumConfigMapNamespace).Get(l.ctx, "cilium", metav1.GetOptions{})
	if err != nil {
		return
	}
	for _, c := range ds.Spec.Template.Spec.Containers {
		if c.Name == "cilium-agent" || strings.Contains(c.Image, "/cilium:") {
			info.Version = ciliumImageVersion(c.Image)
			return
		}
	}
}
