// Command vulnreport reads govulncheck's JSON stream (govulncheck
// -format json) and prints, for one scanned binary or package set, each
// vulnerability found with the level govulncheck reached for it, then a
// count per level. It exits 1 when any vulnerability is reachable (a
// symbol-level finding: a vulnerable function in the call graph, or in the
// binary's symbol table in -mode=binary), and 2 when the stream is not
// govulncheck's (no config message, or a scan level other than symbol,
// which could not tell reachable findings apart):
//
//	govulncheck -mode=binary -format json BIN | go run ./hack/vulnreport -name BIN
//
// govulncheck's text output exits 3 on the same condition; the JSON stream
// is read instead so that the counts per level are exact.
package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
)

// The subset of govulncheck's protocol (golang.org/x/vuln/internal/govulncheck)
// read here.
type message struct {
	Config  *config  `json:"config,omitempty"`
	OSV     *osv     `json:"osv,omitempty"`
	Finding *finding `json:"finding,omitempty"`
}

type config struct {
	ScannerVersion string `json:"scanner_version"`
	DB             string `json:"db"`
	ScanLevel      string `json:"scan_level"`
	ScanMode       string `json:"scan_mode"`
}

type osv struct {
	ID      string `json:"id"`
	Summary string `json:"summary"`
}

type finding struct {
	OSV          string   `json:"osv"`
	FixedVersion string   `json:"fixed_version"`
	Trace        []*frame `json:"trace"`
}

type frame struct {
	Module   string `json:"module"`
	Version  string `json:"version"`
	Package  string `json:"package"`
	Receiver string `json:"receiver"`
	Function string `json:"function"`
}

// Levels, ordered: a vulnerability counts at the deepest level any of its
// findings reaches.
type level int

const (
	moduleLevel  level = iota + 1 // a vulnerable module is required
	packageLevel                  // a vulnerable package is imported
	symbolLevel                   // a vulnerable symbol is reachable
)

func (l level) String() string {
	switch l {
	case symbolLevel:
		return "reachable"
	case packageLevel:
		return "imported"
	default:
		return "required"
	}
}

// vuln is one OSV entry as found in the scan.
type vuln struct {
	ID, Summary    string
	Level          level
	Module, Found  string
	Package, Fixed string
	Symbol         string // one reachable symbol, for the report
}

// report is the result of one scan.
type report struct {
	Config *config
	Vulns  []*vuln // sorted by level (deepest first), then ID
}

func (r *report) count(l level) int {
	n := 0
	for _, v := range r.Vulns {
		if v.Level == l {
			n++
		}
	}
	return n
}

func read(in io.Reader) (*report, error) {
	dec := json.NewDecoder(in)
	r := &report{}
	byID := map[string]*vuln{}
	summaries := map[string]string{}
	for {
		var m message
		err := dec.Decode(&m)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("reading govulncheck's JSON: %w", err)
		}
		switch {
		case m.Config != nil:
			r.Config = m.Config
		case m.OSV != nil:
			summaries[m.OSV.ID] = m.OSV.Summary
		case m.Finding != nil:
			f := m.Finding
			if f.OSV == "" || len(f.Trace) == 0 || f.Trace[0] == nil {
				return nil, fmt.Errorf("a finding without an OSV id or a trace: %+v", f)
			}
			top := f.Trace[0]
			l := moduleLevel
			switch {
			case top.Function != "":
				l = symbolLevel
			case top.Package != "":
				l = packageLevel
			}
			v := byID[f.OSV]
			if v == nil {
				v = &vuln{ID: f.OSV}
				byID[f.OSV] = v
			}
			if l > v.Level {
				v.Level, v.Module, v.Found, v.Package, v.Fixed = l, top.Module, top.Version, top.Package, f.FixedVersion
				if l == symbolLevel {
					v.Symbol = top.Function
					if top.Receiver != "" {
						v.Symbol = strings.TrimPrefix(top.Receiver, "*") + "." + top.Function
					}
				}
			}
		}
	}
	if r.Config == nil {
		return nil, errors.New("no config message: not govulncheck's JSON stream (govulncheck -format json)")
	}
	if r.Config.ScanLevel != "symbol" {
		return nil, fmt.Errorf("scan level %q: only a symbol-level scan tells reachable findings apart", r.Config.ScanLevel)
	}
	for id, v := range byID {
		v.Summary = summaries[id]
		r.Vulns = append(r.Vulns, v)
	}
	sort.Slice(r.Vulns, func(i, j int) bool {
		if r.Vulns[i].Level != r.Vulns[j].Level {
			return r.Vulns[i].Level > r.Vulns[j].Level
		}
		return r.Vulns[i].ID < r.Vulns[j].ID
	})
	return r, nil
}

func (r *report) write(w io.Writer, name string) {
	for _, v := range r.Vulns {
		where := v.Module
		if v.Package != "" {
			where = v.Package
		}
		fixed := v.Fixed
		if fixed == "" {
			fixed = "not fixed"
		}
		fmt.Fprintf(w, "  %-9s %s %s@%s (fixed in %s)", v.Level, v.ID, where, v.Found, fixed)
		if v.Symbol != "" {
			fmt.Fprintf(w, " e.g. %s", v.Symbol)
		}
		if v.Summary != "" {
			fmt.Fprintf(w, ": %s", v.Summary)
		}
		fmt.Fprintln(w)
	}
	fmt.Fprintf(w, "%s: %d reachable, %d imported but not reachable, %d required but not imported (govulncheck %s, -mode=%s, db %s)\n",
		name, r.count(symbolLevel), r.count(packageLevel), r.count(moduleLevel), r.Config.ScannerVersion, r.Config.ScanMode, r.Config.DB)
}

func main() {
	name := flag.String("name", "scan", "what was scanned, for the summary line")
	flag.Parse()
	r, err := read(os.Stdin)
	if err != nil {
		fmt.Fprintln(os.Stderr, "vulnreport:", err)
		os.Exit(2)
	}
	r.write(os.Stdout, *name)
	if r.count(symbolLevel) > 0 {
		os.Exit(1)
	}
}
