package main

import (
	"bytes"
	"strings"
	"testing"
)

// A trimmed stream in govulncheck's layout (one indented object per
// message): GO-0001 is found at every level (its deepest, symbol, wins),
// GO-0002 only as an imported package, GO-0003 only as a required module.
const stream = `{
  "config": {
    "protocol_version": "v1.0.0",
    "scanner_name": "govulncheck",
    "scanner_version": "v1.10.0",
    "db": "file:///db",
    "scan_level": "symbol",
    "scan_mode": "binary"
  }
}
{"progress": {"message": "Scanning your binary for known vulnerabilities..."}}
{"osv": {"id": "GO-0001", "summary": "Header smuggling in net/http"}}
{"osv": {"id": "GO-0002", "summary": "Panic in mime"}}
{"osv": {"id": "GO-0003", "summary": "Bad thing in example.com/m"}}
{"finding": {"osv": "GO-0001", "fixed_version": "v1.26.9", "trace": [{"module": "stdlib", "version": "v1.26.8"}]}}
{"finding": {"osv": "GO-0001", "fixed_version": "v1.26.9", "trace": [{"module": "stdlib", "version": "v1.26.8", "package": "net/http"}]}}
{"finding": {"osv": "GO-0001", "fixed_version": "v1.26.9", "trace": [{"module": "stdlib", "version": "v1.26.8", "package": "net/http", "receiver": "*Request", "function": "Write"}, {"module": "example.com/me", "package": "example.com/me", "function": "main"}]}}
{"finding": {"osv": "GO-0002", "fixed_version": "v1.26.10", "trace": [{"module": "stdlib", "version": "v1.26.8", "package": "mime"}]}}
{"finding": {"osv": "GO-0003", "trace": [{"module": "example.com/m", "version": "v1.0.0"}]}}
`

func TestReadLevels(t *testing.T) {
	r, err := read(strings.NewReader(stream))
	if err != nil {
		t.Fatal(err)
	}
	if got := [3]int{r.count(symbolLevel), r.count(packageLevel), r.count(moduleLevel)}; got != [3]int{1, 1, 1} {
		t.Fatalf("counts (reachable, imported, required) = %v, want [1 1 1]", got)
	}
	v := r.Vulns[0]
	if v.ID != "GO-0001" || v.Level != symbolLevel || v.Symbol != "Request.Write" || v.Package != "net/http" || v.Fixed != "v1.26.9" || v.Summary != "Header smuggling in net/http" {
		t.Errorf("first vuln = %+v", v)
	}
	var out bytes.Buffer
	r.write(&out, "bin/x")
	for _, want := range []string{
		"reachable GO-0001 net/http@v1.26.8 (fixed in v1.26.9) e.g. Request.Write: Header smuggling in net/http",
		"imported  GO-0002 mime@v1.26.8 (fixed in v1.26.10)",
		"required  GO-0003 example.com/m@v1.0.0 (fixed in not fixed)",
		"bin/x: 1 reachable, 1 imported but not reachable, 1 required but not imported (govulncheck v1.10.0, -mode=binary, db file:///db)",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
}

func TestReadNothingFound(t *testing.T) {
	head := stream[:strings.Index(stream, `{"progress"`)]
	r, err := read(strings.NewReader(head))
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Vulns) != 0 || r.count(symbolLevel) != 0 {
		t.Fatalf("vulns = %+v", r.Vulns)
	}
}

func TestReadRefuses(t *testing.T) {
	for name, in := range map[string]string{
		"empty":         "",
		"no config":     `{"finding": {"osv": "GO-0001", "trace": [{"module": "stdlib"}]}}`,
		"package level": strings.Replace(stream, `"scan_level": "symbol"`, `"scan_level": "package"`, 1),
		"no trace":      stream + `{"finding": {"osv": "GO-0004", "trace": []}}`,
		"not JSON":      "Scanning your code...\nNo vulnerabilities found.\n",
	} {
		if _, err := read(strings.NewReader(in)); err == nil {
			t.Errorf("%s: read accepted it", name)
		}
	}
}
