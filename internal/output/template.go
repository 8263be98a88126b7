package output

import (
	"encoding/json"
	"errors"
	"io"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/cli-runtime/pkg/printers"
)

// templateFormats are the -o formats that run a template on a JSON
// document, as kubectl's do; the -file forms name a file the command
// reads (through its bounded input) and hands on inline.
var templateFormats = map[string]string{"jsonpath=": "jsonpath=", "go-template=": "go-template=",
	"jsonpath-file=": "jsonpath=", "go-template-file=": "go-template="}

func isTemplate(value string) bool {
	return strings.HasPrefix(value, "jsonpath=") || strings.HasPrefix(value, "go-template=")
}

// TemplateFile splits -o jsonpath-file=F or go-template-file=F into the
// inline format the file's text goes with, and F.
func TemplateFile(value string) (inline, path string, ok bool) {
	for _, name := range []string{"jsonpath-file=", "go-template-file="} {
		if path, ok := strings.CutPrefix(value, name); ok {
			return templateFormats[name], path, true
		}
	}
	return "", "", false
}

// CheckTemplate parses the template of a template format (nil for any
// other), so that a bad one is refused before any API call.
func CheckTemplate(value string) error {
	if !isTemplate(value) {
		return nil
	}
	_, err := templatePrinter(value)
	return err
}

// templatePrinter is kubectl's printer for the template, missing keys
// allowed (kubectl's --allow-missing-template-keys default).
func templatePrinter(value string) (printers.ResourcePrinter, error) {
	if text, ok := strings.CutPrefix(value, "jsonpath="); ok {
		if text == "" {
			return nil, errors.New("no template given, e.g. -o jsonpath='{.verdicts[*].verdict}'")
		}
		p, err := printers.NewJSONPathPrinter(text)
		if err != nil {
			return nil, err
		}
		p.AllowMissingKeys(true)
		return p, nil
	}
	text := strings.TrimPrefix(value, "go-template=")
	if text == "" {
		return nil, errors.New("no template given, e.g. -o go-template='{{range .verdicts}}{{.verdict}}{{\"\\n\"}}{{end}}'")
	}
	p, err := printers.NewGoTemplatePrinter([]byte(text))
	if err != nil {
		return nil, err
	}
	p.AllowMissingKeys(true)
	return p, nil
}

// writeTemplate runs the template on the document as -o json prints it.
func writeTemplate(w io.Writer, value string, doc any) error {
	p, err := templatePrinter(value)
	if err != nil {
		return err
	}
	b, err := json.Marshal(doc)
	if err != nil {
		return err
	}
	var object map[string]any
	if err := json.Unmarshal(b, &object); err != nil {
		return err
	}
	return p.PrintObj(&unstructured.Unstructured{Object: object}, w)
}
