// Package kubeprint prints through kubectl's own printers (cli-runtime's
// table printer, kubectl get's custom columns, the -o printers of
// written objects): the renderers that need kubectl's packages, kept out
// of internal/output so that it stays free of client-go.
package kubeprint

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"

	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/printers"

	"github.com/netbaseline/kubectl-netbaseline/internal/exit"
	"github.com/netbaseline/kubectl-netbaseline/internal/input"
	"github.com/netbaseline/kubectl-netbaseline/internal/output"
)

// Table prints an output.Table through cli-runtime's printers, as kubectl get does:
// the human-readable table (with -o wide's extra columns, --no-headers),
// or custom columns over each row's document.
func Table(w io.Writer, t output.Table, opts output.TableOptions) error {
	if opts.CustomColumns != "" {
		columns, err := parseCustomColumns(opts.CustomColumns)
		if err != nil {
			return fmt.Errorf("-o custom-columns: %w", err)
		}
		objects := make([]map[string]any, 0, len(t.Objects))
		for _, o := range t.Objects {
			m, err := toMap(o)
			if err != nil {
				return err
			}
			objects = append(objects, m)
		}
		return printCustomColumns(w, columns, objects, opts.NoHeaders)
	}
	table := &metav1.Table{TypeMeta: metav1.TypeMeta{APIVersion: "meta.k8s.io/v1", Kind: "Table"}}
	for _, c := range t.Columns {
		priority := int32(0)
		if c.Wide {
			priority = 1
		}
		table.ColumnDefinitions = append(table.ColumnDefinitions, metav1.TableColumnDefinition{Name: c.Name, Type: "string", Priority: priority})
	}
	for _, r := range t.Rows {
		table.Rows = append(table.Rows, metav1.TableRow{Cells: r})
	}
	return printers.NewTablePrinter(printers.PrintOptions{NoHeaders: opts.NoHeaders, Wide: opts.Wide}).PrintObj(table, w)
}

func toMap(v any) (map[string]any, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	var m map[string]any
	return m, json.Unmarshal(b, &m)
}

// CheckCustomColumns checks a -o custom-columns= spec before any API call.
func CheckCustomColumns(format string) error {
	spec, ok := strings.CutPrefix(format, "custom-columns=")
	if !ok {
		return nil
	}
	if _, err := parseCustomColumns(spec); err != nil {
		return exit.Usagef("-o custom-columns: %v", err)
	}
	return nil
}

// templateFileFormats are the -o formats that name a template file, and
// the inline format that the file's text is handed to instead.
var templateFileFormats = map[string]string{"go-template-file": "go-template", "templatefile": "go-template", "jsonpath-file": "jsonpath"}

// BoundTemplateFile reads a template file (-o go-template-file=F,
// jsonpath-file, or --template F) through the run's bounded input reader
// and gives its text to the printer inline, so that no file is read
// without the bound.
func BoundTemplateFile(in *input.Reader, f *genericclioptions.PrintFlags) error {
	if f.OutputFormat == nil || f.TemplatePrinterFlags == nil || f.TemplatePrinterFlags.TemplateArgument == nil {
		return nil
	}
	name, path, hasPath := strings.Cut(*f.OutputFormat, "=")
	inline, ok := templateFileFormats[name]
	if !ok {
		return nil
	}
	if !hasPath {
		path = *f.TemplatePrinterFlags.TemplateArgument
	}
	if path == "" {
		return nil // the printer says a template is missing
	}
	text, err := in.Text(path)
	if err != nil {
		return exit.Usagef("-o %s: %v", name, err)
	}
	*f.OutputFormat = inline
	*f.TemplatePrinterFlags.TemplateArgument = string(text)
	return nil
}

// Objects prints one List for JSON (valid JSON), else object by object.
func Objects(p printers.ResourcePrinter, f *genericclioptions.PrintFlags, objs []*networkingv1.NetworkPolicy, out interface{ Write([]byte) (int, error) }) error {
	if f.OutputFormat != nil && *f.OutputFormat == "json" && len(objs) != 1 {
		list := &networkingv1.NetworkPolicyList{}
		list.APIVersion, list.Kind = "v1", "List"
		for _, obj := range objs {
			list.Items = append(list.Items, *obj)
		}
		return p.PrintObj(list, out)
	}
	for _, obj := range objs {
		if err := p.PrintObj(obj, out); err != nil {
			return err
		}
	}
	return nil
}
