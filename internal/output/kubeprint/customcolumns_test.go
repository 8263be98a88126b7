package kubeprint

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	kubectlget "k8s.io/kubectl/pkg/cmd/get"
)

// Our custom columns print byte for byte what kubectl's printer prints,
// and refuse what it refuses, on fixed and random specs and documents.
func TestCustomColumnsAsKubectlPrintsThem(t *testing.T) {
	objects := []map[string]any{
		{"from": "shop/client", "to": "shop/web", "port": float64(8080), "verdict": "denied", "hints": []any{},
			"ingress": map[string]any{"isolatedBy": []any{"deny-all", "web"}, "verdict": "denied"}},
		{"from": "shop/web", "to": "198.51.100.10", "port": float64(443), "verdict": "allowed", "note": "\x1b[31mred\x1b[0m",
			"ingress": map[string]any{"isolatedBy": []any{}}},
		{"from": "a very long source name/that goes on", "verdict": "unspecified"},
	}
	specs := []string{
		"FROM:.from,TO:.to,VERDICT:.verdict",
		"F:{.from},P:port,W:{.ingress.isolatedBy[*]}",
		"FIRST:.ingress.isolatedBy[0],NOTE:.note",
		"EMPTY:,X:.nothing.here",
		"ONLY:.verdict",
		"BAD", "A:.x,B", "A:{.x", "", "A:..x", "A:.x[", "A:{{.x}}",
	}
	rng := rand.New(rand.NewPCG(7, 35))
	fields := []string{".from", ".to", ".port", "verdict", "{.ingress.verdict}", ".ingress.isolatedBy[*]", ".hints", "", ".x.y", "{.ingress}", ".note"}
	for range 300 {
		var cols []string
		for j := range 1 + rng.IntN(4) {
			cols = append(cols, fmt.Sprintf("H%d:%s", j, fields[rng.IntN(len(fields))]))
		}
		specs = append(specs, strings.Join(cols, ","))
	}
	for _, spec := range specs {
		for _, noHeaders := range []bool{false, true} {
			want, wantErr := kubectlPrints(spec, objects, noHeaders)
			var got bytes.Buffer
			columns, err := parseCustomColumns(spec)
			if err == nil {
				err = printCustomColumns(&got, columns, objects, noHeaders)
			}
			if (err != nil) != (wantErr != nil) {
				t.Errorf("%q: error %v, kubectl's %v", spec, err, wantErr)
				continue
			}
			if err == nil && got.String() != want {
				t.Errorf("%q (no headers %v):\n got: %q\nwant: %q", spec, noHeaders, got.String(), want)
			}
		}
	}
}

func kubectlPrints(spec string, objects []map[string]any, noHeaders bool) (string, error) {
	p, err := kubectlget.NewCustomColumnsPrinterFromSpec(spec, unstructured.UnstructuredJSONScheme, noHeaders)
	if err != nil {
		return "", err
	}
	list := &unstructured.UnstructuredList{Object: map[string]any{"apiVersion": "v1", "kind": "List"}}
	for _, o := range objects {
		list.Items = append(list.Items, unstructured.Unstructured{Object: o})
	}
	var out bytes.Buffer
	err = p.PrintObj(list, &out)
	return out.String(), err
}
