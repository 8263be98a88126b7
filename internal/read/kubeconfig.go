package read

import (
	"errors"
	"fmt"
	"maps"
	"os"
	"slices"
	"strings"

	"k8s.io/cli-runtime/pkg/genericclioptions"
)

// CheckKubeconfig refuses, as kubectl does, a --kubeconfig that names no
// file and a --context, --cluster or --user that the kubeconfig does not
// define, instead of quietly using the defaults: the caller reports it as
// bad usage, before any API call.
func CheckKubeconfig(flags *genericclioptions.ConfigFlags) error {
	if err := checkKubeconfigFile(flags); err != nil {
		return err
	}
	return checkKubeconfigNames(flags)
}

// checkKubeconfigNames refuses a --context, --cluster or --user that the
// kubeconfig does not define, as kubectl does, instead of quietly using
// the defaults (exit 2, before any API call).
func checkKubeconfigNames(f *genericclioptions.ConfigFlags) error {
	named := func(p *string) string {
		if p == nil {
			return ""
		}
		return *p
	}
	context, cluster, user := named(f.Context), named(f.ClusterName), named(f.AuthInfoName)
	if context == "" && cluster == "" && user == "" {
		return nil
	}
	raw, err := f.ToRawKubeConfigLoader().RawConfig()
	if err != nil {
		return fmt.Errorf("kubeconfig: %v", err)
	}
	if _, ok := raw.Contexts[context]; context != "" && !ok {
		return fmt.Errorf("context %q does not exist in the kubeconfig%s", context, known(raw.Contexts))
	}
	if _, ok := raw.Clusters[cluster]; cluster != "" && !ok {
		return fmt.Errorf("cluster %q does not exist in the kubeconfig%s", cluster, known(raw.Clusters))
	}
	if _, ok := raw.AuthInfos[user]; user != "" && !ok {
		return fmt.Errorf("user %q does not exist in the kubeconfig%s", user, known(raw.AuthInfos))
	}
	return nil
}

// checkKubeconfigFile refuses a --kubeconfig that names no file (exit 2),
// whether or not the command goes on to talk to the cluster: a typo
// would otherwise pass unnoticed by render or explain -f.
func checkKubeconfigFile(flags *genericclioptions.ConfigFlags) error {
	f := flags.KubeConfig
	if f == nil || *f == "" {
		return nil
	}
	if _, err := os.Stat(*f); err != nil {
		return fmt.Errorf("--kubeconfig %s: %v", *f, errors.Unwrap(err))
	}
	return nil
}

// known lists the names a kubeconfig map holds, for the error message.
func known[V any](m map[string]V) string {
	if len(m) == 0 {
		return " (it defines none)"
	}
	return " (it has " + strings.Join(slices.Sorted(maps.Keys(m)), ", ") + ")"
}
