package output

import (
	"bytes"
	"testing"
)

func TestWriteCommentedYAMLPlacesCommentsByPath(t *testing.T) {
	type rel struct {
		Namespace string `json:"namespace"`
		App       string `json:"app"`
		Port      int    `json:"port"`
	}
	type rule struct {
		CIDR string `json:"cidr"`
	}
	type app struct {
		Ports   []int          `json:"ports"`
		Name    string         `json:"name"`
		TalksTo []rel          `json:"talksTo"`
		Extra   map[string]int `json:"extra"`
	}
	type ns struct {
		Apps []app  `json:"apps"`
		To   []rule `json:"to"`
		Name string `json:"name"`
	}
	doc := struct {
		Namespaces []ns   `json:"namespaces"`
		Kind       string `json:"kind"`
		APIVersion string `json:"apiVersion"`
	}{
		Namespaces: []ns{{Name: "web", Apps: []app{{Name: "api", Ports: []int{80}, TalksTo: []rel{{Namespace: "db", App: "pg", Port: 5432}}, Extra: map[string]int{}}},
			To: []rule{{CIDR: "198.51.100.10/32"}}}},
		Kind: "Config", APIVersion: "netbaseline.io/v1alpha1",
	}
	var buf bytes.Buffer
	err := WriteCommentedYAML(&buf, doc, []string{"head line"}, map[string]string{
		"namespaces[web]":                          "the namespace",
		"namespaces[web].apps[api].talksTo[db/pg]": "seen 3 times",
		"namespaces[web].to[198.51.100.10/32]":     "external",
		"namespaces[web].apps[api].ports":          "declared",
		"namespaces[nowhere]":                      "never printed",
	})
	if err != nil {
		t.Fatal(err)
	}
	want := `# head line
apiVersion: netbaseline.io/v1alpha1
kind: Config
namespaces:
  # the namespace
  - name: web
    apps:
      - name: api
        # declared
        ports:
          - 80
        talksTo:
          # seen 3 times
          - namespace: db
            app: pg
            port: 5432
    to:
      # external
      - cidr: 198.51.100.10/32
`
	if buf.String() != want {
		t.Errorf("got\n%s\nwant\n%s", buf.String(), want)
	}
}
