package output

import (
	"bufio"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"

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

// StreamFormats are the -o formats a VerdictWriter writes.
var StreamFormats = []string{"table", "wide", "json", "jsonl", "csv"}

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
	grow(&t.Reason, reason(x))
}

// NewVerdictWriter writes format (one of StreamFormats) to w; widths are
// needed for table and wide.
func NewVerdictWriter(w io.Writer, format string, widths TableWidths, noHeaders bool, warnings []string) VerdictWriter {
	bw := bufio.NewWriterSize(w, 1<<16)
	switch format {
	case "json":
		return &jsonStream{w: bw, warnings: warnings}
	case "jsonl":
		return &jsonlStream{w: bw}
	case "csv":
		s := &csvStream{bw: bw, w: csv.NewWriter(bw)}
		if !noHeaders {
			s.err = s.w.Write([]string{"from", "fromGroup", "to", "toGroup", "port", "portName", "protocol", "requestedPort", "verdict", "reason"})
		}
		return s
	}
	s := &tableStream{w: bw, wide: format == "wide", hints: map[string]bool{}}
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
	hints  map[string]bool
	order  []string
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
		s.row([]string{x.From, dash(x.FromGroup), x.To, dash(x.ToGroup), PortLabel(x), string(x.Verdict), reason(x), dash(hintCodes(x.Hints))})
		return nil
	}
	s.row([]string{x.From, x.To, PortLabel(x), string(x.Verdict), reason(x)})
	for _, h := range x.Hints {
		line := h.Code + ": " + h.Message
		if !s.hints[line] {
			s.hints[line] = true
			s.order = append(s.order, line)
		}
	}
	return nil
}

func (s *tableStream) Close() error {
	if len(s.order) > 0 {
		fmt.Fprintf(s.w, "\nHints:\n%s\n", strings.Join(s.order, "\n"))
	}
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

type jsonlStream struct{ w *bufio.Writer }

func (s *jsonlStream) Write(x policy.Explanation) error {
	return WriteJSONLine(s.w, VerdictLine{Explanation: x})
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
	return s.w.Write([]string{x.From, x.FromGroup, x.To, x.ToGroup, fmt.Sprint(x.Port), x.PortName, string(x.Protocol), x.RequestedPort, string(x.Verdict), reason(x)})
}

func (s *csvStream) Close() error {
	s.w.Flush()
	if err := s.w.Error(); err != nil {
		return err
	}
	return s.bw.Flush()
}
