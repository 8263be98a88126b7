// Command krew-manifest renders plugin.yaml (the krew-release-bot
// template) with the real archives' uris and sha256 into
// dist/netbaseline.yaml, as krew-release-bot would for a release:
//
//	go run ./hack/krew-manifest -tag v0.1.0 -dist dist
//
// addURIAndSha prints the same two lines krew-release-bot does, so the
// rendered file is what the bot will submit.
package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"flag"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"text/template"

	"sigs.k8s.io/yaml"
)

func main() {
	tag := flag.String("tag", "", "release tag, e.g. v0.1.0 (required)")
	dist := flag.String("dist", "dist", "folder with the archives")
	in := flag.String("template", "plugin.yaml", "the krew manifest template")
	out := flag.String("o", "", "output file (default DIST/netbaseline.yaml: krew wants the plugin's name)")
	onlyBuilt := flag.Bool("only-built", false, "drop the platforms whose archive is not in DIST (a single-target snapshot)")
	flag.Parse()
	if *tag == "" {
		fail(fmt.Errorf("-tag is required"))
	}
	if *out == "" {
		*out = filepath.Join(*dist, "netbaseline.yaml")
	}
	if err := render(*in, *out, *dist, *tag, *onlyBuilt); err != nil {
		fail(err)
	}
	fmt.Println(*out)
}

const missing = "MISSING"

func render(in, out, dist, tag string, onlyBuilt bool) error {
	src, err := os.ReadFile(in)
	if err != nil {
		return err
	}
	funcs := template.FuncMap{
		"addURIAndSha": func(url, tag string) (string, error) {
			url = execString(url, tag)
			sum, err := sha256File(filepath.Join(dist, path.Base(url)))
			if err != nil {
				if !onlyBuilt {
					return "", err
				}
				sum = missing
			}
			return fmt.Sprintf("uri: %s\n    sha256: %s", url, sum), nil
		},
	}
	t, err := template.New(filepath.Base(in)).Funcs(funcs).Parse(string(src))
	if err != nil {
		return err
	}
	var buf bytes.Buffer
	if err := t.Execute(&buf, map[string]string{"TagName": tag}); err != nil {
		return err
	}
	result := buf.Bytes()
	if onlyBuilt {
		if result, err = dropMissing(result); err != nil {
			return err
		}
	}
	return os.WriteFile(out, result, 0o644)
}

// dropMissing removes the platforms whose archive was not built.
func dropMissing(manifest []byte) ([]byte, error) {
	var doc map[string]any
	if err := yaml.Unmarshal(manifest, &doc); err != nil {
		return nil, err
	}
	spec := doc["spec"].(map[string]any)
	var kept []any
	for _, p := range spec["platforms"].([]any) {
		if p.(map[string]any)["sha256"] != missing {
			kept = append(kept, p)
		} else {
			fmt.Fprintf(os.Stderr, "krew-manifest: no archive for %v, platform left out\n", p.(map[string]any)["selector"])
		}
	}
	if len(kept) == 0 {
		return nil, fmt.Errorf("no archive found for any platform")
	}
	spec["platforms"] = kept
	return yaml.Marshal(doc)
}

// execString expands {{ .TagName }} inside the URL argument.
func execString(s, tag string) string {
	t, err := template.New("url").Parse(s)
	if err != nil {
		return s
	}
	var buf bytes.Buffer
	if err := t.Execute(&buf, map[string]string{"TagName": tag}); err != nil {
		return s
	}
	return buf.String()
}

func sha256File(p string) (string, error) {
	b, err := os.ReadFile(p)
	if err != nil {
		return "", fmt.Errorf("archive for the manifest: %w", err)
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:]), nil
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "krew-manifest:", err)
	os.Exit(1)
}
