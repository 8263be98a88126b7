package output

import (
	"encoding/json"
	"fmt"
	"io"

	"sigs.k8s.io/yaml"
)

// WriteDocument prints a versioned document as indented JSON or as YAML
// (format "json" or "yaml"), as kubectl prints objects.
func WriteDocument(w io.Writer, format string, doc any) error {
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
