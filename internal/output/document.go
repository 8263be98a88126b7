package output

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"sort"

	"sigs.k8s.io/yaml"

	"github.com/netbaseline/kubectl-netbaseline/internal/ownership"
)

// WriteDocument prints a versioned document as indented JSON or as YAML
// (format "json" or "yaml"), as kubectl prints objects, or runs a
// jsonpath= or go-template= template on it.
func WriteDocument(w io.Writer, format string, doc any) error {
	if isTemplate(format) {
		return writeTemplate(w, format, doc)
	}
	switch format {
	case "json":
		b, err := json.MarshalIndent(doc, "", "  ")
		if err != nil {
			return err
		}
		_, err = fmt.Fprintf(w, "%s\n", b)
		return err
	case "yaml":
		b, err := yaml.Marshal(doc)
		if err != nil {
			return err
		}
		_, err = w.Write(b)
		return err
	}
	return fmt.Errorf("output format %q is not a document format (json, yaml)", format)
}

// WriteListDocument prints the document {apiVersion, kind, key: items} as
// WriteDocument prints it (the same bytes), one item at a time: a large
// list is never marshalled whole.
func WriteListDocument[T any](w io.Writer, format, kind, key string, items []T) error {
	if isTemplate(format) {
		return writeTemplate(w, format, map[string]any{"apiVersion": ownership.APIVersion, "kind": kind, key: items})
	}
	bw := bufio.NewWriterSize(w, 1<<16)
	var err error
	switch format {
	case "json":
		err = writeJSONList(bw, kind, key, items)
	case "yaml":
		err = writeYAMLList(bw, kind, key, items)
	default:
		return fmt.Errorf("output format %q is not a document format (json, yaml)", format)
	}
	if err != nil {
		return err
	}
	return bw.Flush()
}

func writeJSONList[T any](w *bufio.Writer, kind, key string, items []T) error {
	k, _ := json.Marshal(key)
	a, _ := json.Marshal(ownership.APIVersion)
	kd, _ := json.Marshal(kind)
	fmt.Fprintf(w, "{\n  \"apiVersion\": %s,\n  \"kind\": %s,\n  %s: [", a, kd, k)
	for i, item := range items {
		b, err := json.MarshalIndent(item, "    ", "  ")
		if err != nil {
			return err
		}
		if i > 0 {
			w.WriteString(",")
		}
		w.WriteString("\n    ")
		w.Write(b)
	}
	if len(items) > 0 {
		w.WriteString("\n  ")
	}
	_, err := w.WriteString("]\n}\n")
	return err
}

// writeYAMLList writes the three keys in sorted order, as yaml.Marshal of
// the whole document does; a one-item list marshals as the item does in
// the document's list.
func writeYAMLList[T any](w *bufio.Writer, kind, key string, items []T) error {
	scalar := func(k, v string) error {
		b, err := yaml.Marshal(map[string]string{k: v})
		if err == nil {
			w.Write(b)
		}
		return err
	}
	keys := []string{"apiVersion", "kind", key}
	sort.Strings(keys)
	for _, k := range keys {
		var err error
		switch k {
		case "apiVersion":
			err = scalar(k, ownership.APIVersion)
		case "kind":
			err = scalar(k, kind)
		default:
			if len(items) == 0 {
				b, e := yaml.Marshal(map[string][]T{k: {}})
				w.Write(b)
				err = e
				break
			}
			fmt.Fprintf(w, "%s:\n", k)
			for _, item := range items {
				b, e := yaml.Marshal([]T{item})
				if e != nil {
					return e
				}
				w.Write(b)
			}
		}
		if err != nil {
			return err
		}
	}
	return nil
}
