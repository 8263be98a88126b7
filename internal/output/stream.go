package output

import (
	"bufio"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"

	"sigs.k8s.io/yaml"

	"github.com/netbaseline/kubectl-netbaseline/internal/ownership"
	"github.com/netbaseline/kubectl-netbaseline/internal/policy"
)

// VerdictWriter writes verdicts as the engine produces them, so that a
// matrix of a large cluster is never held in memory: memory stays that of
// the model, whatever the number of verdicts.
type VerdictWriter interface {
	Write(x policy.Explanation) error
	// Close ends the output (the document's tail, the hints).
	Close() error
}

// TableWidths are the widths of the table's padded columns, measured
// beforehand (a first pass over the verdicts that keeps only maxima).
type TableWidths struct {
	From, FromGroup, To, ToGroup, Port, Verdict int
	// Reason is padded in -o wide only (HINTS follows it).
	Reason int
}

// Measure widens the widths for one verdict.
func (t *TableWidths) Measure(x policy.Explanation) {
	grow := func(w *int, s string) {
		if n := utf8.RuneCountInString(s); n > *w {
			*w = n
		}
	}
	grow(&t.From, x.From)
	grow(&t.FromGroup, dash(x.FromGroup))
	grow(&t.To, x.To)
	grow(&t.ToGroup, dash(x.ToGroup))
	grow(&t.Port, PortLabel(x))
	grow(&t.Verdict, string(x.Verdict))
	grow(&t.Reason, Reason(x))
}

// StreamOptions shape a VerdictWriter's output.
type StreamOptions struct {
	// Widths are needed for table and wide.
	Widths    TableWidths
	NoHeaders bool
	// Warnings go into the json and yaml documents.
	Warnings []string
	// OnlyAllowed: graphs leave denied connections out (a matrix's).
	OnlyAllowed bool
}

// NewVerdictWriter writes format (one WritesVerdicts) to w.
func NewVerdictWriter(w io.Writer, format string, opts StreamOptions) VerdictWriter {
	bw := bufio.NewWriterSize(w, 1<<16)
	widths, noHeaders, warnings := opts.Widths, opts.NoHeaders, opts.Warnings
	if isTemplate(format) {
		return &templateStream{w: w, format: format, warnings: warnings}
	}
	switch format {
	case "mermaid", "dot":
		return &graphStream{w: bw, format: format, onlyAllowed: opts.OnlyAllowed, edges: newEdgeSet()}
	case "json":
		return &jsonStream{w: bw, warnings: warnings}
	case "jsonl":
		return &jsonlStream{w: bw}
	case "yaml":
		return &yamlStream{w: bw, warnings: warnings}
	case "md":
		bw.WriteString("| from | to | port | verdict | why |\n| --- | --- | --- | --- | --- |\n")
		return &mdStream{w: bw, hints: hintList{seen: map[string]bool{}}}
	case "csv":
		s := &csvStream{bw: bw, w: csv.NewWriter(bw)}
		if !noHeaders {
			s.err = s.w.Write([]string{"from", "fromGroup", "to", "toGroup", "port", "portName", "protocol", "requestedPort", "verdict", "reason"})
		}
		return s
	}
	s := &tableStream{w: bw, wide: format == "wide", hints: hintList{seen: map[string]bool{}}}
	s.widths = s.columnWidths(widths)
	if !noHeaders {
		s.header()
	}
	return s
}

type tableStream struct {
	w *bufio.Writer
	// widths of the columns, the header's included, measured once.
	widths []int
	wide   bool
	hints  hintList
}

// hintList keeps each distinct hint line once, in first-seen order.
type hintList struct {
	seen  map[string]bool
	lines []string
}

func (h *hintList) add(x policy.Explanation, bullet string) {
	for _, hint := range x.Hints {
		line := bullet + hint.Code + ": " + hint.Message
		if !h.seen[line] {
			h.seen[line] = true
			h.lines = append(h.lines, line)
		}
	}
}

// write prints the hints after a blank line, if there are any.
func (h *hintList) write(w *bufio.Writer) {
	if len(h.lines) > 0 {
		fmt.Fprintf(w, "\nHints:\n%s\n", strings.Join(h.lines, "\n"))
	}
}

// pad writes cells separated by two spaces, each but the last padded to
// its width (as text/tabwriter would, without holding the table).
func (s *tableStream) row(cells []string) {
	for i, c := range cells {
		s.w.WriteString(c)
		if i == len(cells)-1 {
			break
		}
		s.w.WriteString(strings.Repeat(" ", s.widths[i]-utf8.RuneCountInString(c)+2))
	}
	s.w.WriteByte('\n')
}

func headerOf(wide bool) []string {
	if wide {
		return []string{"FROM", "FROM GROUP", "TO", "TO GROUP", "PORT", "VERDICT", "REASON", "HINTS"}
	}
	return []string{"FROM", "TO", "PORT", "VERDICT", "REASON"}
}

func (s *tableStream) columnWidths(w TableWidths) []int {
	cols := []int{w.From, w.To, w.Port, w.Verdict, 0}
	if s.wide {
		cols = []int{w.From, w.FromGroup, w.To, w.ToGroup, w.Port, w.Verdict, w.Reason, 0}
	}
	for i, h := range headerOf(s.wide) {
		cols[i] = max(cols[i], len(h))
	}
	return cols
}

func (s *tableStream) header() { s.row(headerOf(s.wide)) }

func (s *tableStream) Write(x policy.Explanation) error {
	if s.wide {
		s.row([]string{x.From, dash(x.FromGroup), x.To, dash(x.ToGroup), PortLabel(x), string(x.Verdict), Reason(x), dash(hintCodes(x.Hints))})
		return nil
	}
	s.row([]string{x.From, x.To, PortLabel(x), string(x.Verdict), Reason(x)})
	s.hints.add(x, "")
	return nil
}

func (s *tableStream) Close() error {
	s.hints.write(s.w)
	return s.w.Flush()
}

// yamlStream writes the ExplainResult document; the bytes equal yaml.Marshal
// of the whole document (its keys sort as written here, and a one-item
// list marshals as the same item inside the document's list).
type yamlStream struct {
	w        *bufio.Writer
	warnings []string
	n        int
}

func (s *yamlStream) head() {
	fmt.Fprintf(s.w, "apiVersion: %s\nkind: ExplainResult\nverdicts:", ownership.APIVersion)
}

func (s *yamlStream) Write(x policy.Explanation) error {
	if s.n == 0 {
		s.head()
		s.w.WriteString("\n")
	}
	b, err := yaml.Marshal([]policy.Explanation{x})
	if err != nil {
		return err
	}
	s.w.Write(b)
	s.n++
	return nil
}

func (s *yamlStream) Close() error {
	if s.n == 0 {
		s.head()
		s.w.WriteString(" []\n")
	}
	if len(s.warnings) > 0 {
		b, err := yaml.Marshal(map[string][]string{"warnings": s.warnings})
		if err != nil {
			return err
		}
		s.w.Write(b)
	}
	return s.w.Flush()
}

// mdStream writes a Markdown table, then the hints as a list.
type mdStream struct {
	w     *bufio.Writer
	hints hintList
}

func (s *mdStream) Write(x policy.Explanation) error {
	fmt.Fprintf(s.w, "| %s | %s | %s | **%s** | %s |\n", mdEscape(x.From), mdEscape(x.To), mdEscape(PortLabel(x)), x.Verdict, mdEscape(Reason(x)))
	s.hints.add(x, "- ")
	return nil
}

func (s *mdStream) Close() error {
	s.hints.write(s.w)
	return s.w.Flush()
}

// jsonStream writes the ExplainResult document; the bytes equal
// json.MarshalIndent of the whole document.
type jsonStream struct {
	w        *bufio.Writer
	warnings []string
	n        int
}

func (s *jsonStream) Write(x policy.Explanation) error {
	if s.n == 0 {
		fmt.Fprintf(s.w, "{\n  \"apiVersion\": %q,\n  \"kind\": \"ExplainResult\",\n  \"verdicts\": [", ownership.APIVersion)
	}
	b, err := json.MarshalIndent(x, "    ", "  ")
	if err != nil {
		return err
	}
	if s.n > 0 {
		s.w.WriteString(",")
	}
	s.w.WriteString("\n    ")
	s.w.Write(b)
	s.n++
	return nil
}

func (s *jsonStream) Close() error {
	if s.n == 0 {
		fmt.Fprintf(s.w, "{\n  \"apiVersion\": %q,\n  \"kind\": \"ExplainResult\",\n  \"verdicts\": [", ownership.APIVersion)
	} else {
		s.w.WriteString("\n  ")
	}
	s.w.WriteString("]")
	if len(s.warnings) > 0 {
		b, err := json.MarshalIndent(s.warnings, "  ", "  ")
		if err != nil {
			return err
		}
		fmt.Fprintf(s.w, ",\n  \"warnings\": %s", b)
	}
	s.w.WriteString("\n}\n")
	return s.w.Flush()
}

type jsonlStream struct {
	w   *bufio.Writer
	buf []byte // reused line by line
	enc lineEncoder
}

func (s *jsonlStream) Write(x policy.Explanation) error {
	line := VerdictLine{Explanation: x}
	b, ok := s.enc.appendVerdictLine(s.buf[:0], &line)
	if !ok {
		return WriteJSONLine(s.w, line)
	}
	s.buf = append(b, '\n')
	_, err := s.w.Write(s.buf)
	return err
}

func (s *jsonlStream) Close() error { return s.w.Flush() }

type csvStream struct {
	bw  *bufio.Writer
	w   *csv.Writer
	err error
}

func (s *csvStream) Write(x policy.Explanation) error {
	if s.err != nil {
		return s.err
	}
	return s.w.Write([]string{x.From, x.FromGroup, x.To, x.ToGroup, fmt.Sprint(x.Port), x.PortName, string(x.Protocol), x.RequestedPort, string(x.Verdict), Reason(x)})
}

func (s *csvStream) Close() error {
	s.w.Flush()
	if err := s.w.Error(); err != nil {
		return err
	}
	return s.bw.Flush()
}

// graphStream draws a graph once every verdict is in; it holds one edge per
// group pair.
type graphStream struct {
	w           *bufio.Writer
	format      string
	onlyAllowed bool
	edges       *edgeSet
}

func (s *graphStream) Write(x policy.Explanation) error {
	s.edges.add(x)
	return nil
}

func (s *graphStream) Close() error {
	if err := drawEdges(s.w, s.format, s.edges, s.onlyAllowed); err != nil {
		return err
	}
	return s.w.Flush()
}

// templateStream collects the verdicts and runs the template on the
// document -o json prints.
type templateStream struct {
	w        io.Writer
	format   string
	warnings []string
	verdicts []policy.Explanation
}

func (s *templateStream) Write(x policy.Explanation) error {
	s.verdicts = append(s.verdicts, x)
	return nil
}

func (s *templateStream) Close() error {
	return writeTemplate(s.w, s.format, NewExplainResult(s.verdicts, s.warnings))
}
