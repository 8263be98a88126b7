package output

import (
	"bufio"
	_ "embed"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/netbaseline/kubectl-netbaseline/internal/ownership"
	"github.com/netbaseline/kubectl-netbaseline/internal/policy"
)

// The page is one file: styles and script are embedded in it, so it opens
// from file:// with no network.
//
//go:embed html/page.html
var htmlPage string

// htmlCellsMarker is where the streamed data goes in the page.
const htmlCellsMarker = "<!--NETBASELINE-DATA-->"

// HTMLMatrix is explain --matrix -o html: an interactive truth table in one
// self-contained file. Verdicts arrive in the engine's order (destination,
// port, source); each becomes one little-endian uint32 written at once (base64),
// the index of its kind: a distinct (verdict, egress side, ingress side,
// hints) combination. Sides and kinds are kept once each, so memory is
// that of the distinct explanations, not of the verdicts.
type HTMLMatrix struct {
	w   *bufio.Writer
	enc io.WriteCloser
	// sources are the rows, in order; columns are (destination, port) in
	// order of arrival.
	groups       []htmlGroup
	groupIndex   map[string]int
	namespaces   []string
	nsIndex      map[string]int
	sources      []int
	sourceIndex  map[string]int
	destinations map[string]int
	columns      [][2]int
	ports        []htmlPort
	portIndex    map[htmlPort]int
	sides        []*policy.Side
	sideIndex    map[string]int
	hints        [][]policy.Hint
	hintIndex    map[string]int
	kinds        [][4]int
	kindIndex    map[[4]int]uint32
	// next is the cell the next verdict must be, to check the order.
	next      int
	lastCol   [2]int
	title     string
	only      string
	warns     []string
	withHints bool
	buf       [4]byte
	key       []byte
}

type htmlGroup struct {
	name, pod string
	ns        int
}

type htmlPort struct {
	Label string `json:"label"`
	// Arg is the port as explain's DEST takes it: 3001/tcp.
	Arg string `json:"arg"`
}

// HTMLOptions describe the page.
type HTMLOptions struct {
	// Title heads the page (the command that made it).
	Title string
	// Only is the verdict filter the page opens with (explain --only).
	Only     string
	Warnings []string
	// Hints: the verdicts carry hints (small matrices).
	Hints bool
}

// NewHTMLMatrix starts the page for a matrix of sources (rows) against
// destinations (columns).
func NewHTMLMatrix(w io.Writer, sources, destinations []policy.Group, opts HTMLOptions) *HTMLMatrix {
	h := &HTMLMatrix{
		w: bufio.NewWriterSize(w, 1<<16), groupIndex: map[string]int{}, nsIndex: map[string]int{},
		sourceIndex: map[string]int{}, destinations: map[string]int{}, portIndex: map[htmlPort]int{},
		sideIndex: map[string]int{}, hintIndex: map[string]int{}, kindIndex: map[[4]int]uint32{},
		lastCol: [2]int{-1, -1}, title: opts.Title, only: opts.Only, warns: opts.Warnings, withHints: opts.Hints,
	}
	for i, g := range sources {
		h.sources = append(h.sources, h.group(g))
		h.sourceIndex[g.Name] = i
	}
	for _, g := range destinations {
		h.destinations[g.Name] = h.group(g)
	}
	head, _, _ := strings.Cut(htmlPage, htmlCellsMarker)
	h.w.WriteString(head)
	h.w.WriteString(`<script id="cells" type="application/octet-stream">`)
	h.enc = base64.NewEncoder(base64.StdEncoding, h.w)
	return h
}

func (h *HTMLMatrix) group(g policy.Group) int {
	if i, ok := h.groupIndex[g.Name]; ok {
		return i
	}
	ns := g.Pods[0].Namespace
	n, ok := h.nsIndex[ns]
	if !ok {
		n = len(h.namespaces)
		h.nsIndex[ns] = n
		h.namespaces = append(h.namespaces, ns)
	}
	h.groupIndex[g.Name] = len(h.groups)
	h.groups = append(h.groups, htmlGroup{name: g.Name, pod: g.Pods[0].Key(), ns: n})
	return len(h.groups) - 1
}

// Write records one verdict.
func (h *HTMLMatrix) Write(x policy.Explanation) error {
	src, ok := h.sourceIndex[x.FromGroup]
	if !ok {
		return fmt.Errorf("html: verdict from unknown group %q", x.FromGroup)
	}
	dst, ok := h.destinations[x.ToGroup]
	if !ok {
		return fmt.Errorf("html: verdict to unknown group %q", x.ToGroup)
	}
	port := htmlPort{Label: PortLabel(x), Arg: fmt.Sprintf("%d/%s", x.Port, strings.ToLower(string(x.Protocol)))}
	p, ok := h.portIndex[port]
	if !ok {
		p = len(h.ports)
		h.portIndex[port] = p
		h.ports = append(h.ports, port)
	}
	if col := [2]int{dst, p}; col != h.lastCol {
		h.columns = append(h.columns, col)
		h.lastCol = col
	}
	if want := (len(h.columns)-1)*len(h.sources) + src; want != h.next {
		return fmt.Errorf("html: verdicts out of the engine's order at %s -> %s %s", x.FromGroup, x.ToGroup, port.Label)
	}
	h.next++
	kind := [4]int{verdictCode(x.Verdict), h.side(x.Egress), h.side(x.Ingress), h.hintList(x.Hints)}
	k, ok := h.kindIndex[kind]
	if !ok {
		k = uint32(len(h.kinds))
		h.kindIndex[kind] = k
		h.kinds = append(h.kinds, kind)
	}
	binary.LittleEndian.PutUint32(h.buf[:], k)
	_, err := h.enc.Write(h.buf[:])
	return err
}

func verdictCode(v policy.Verdict) int {
	switch v {
	case policy.Allowed:
		return 0
	case policy.Denied:
		return 1
	}
	return 2
}

// side interns a side by what it says; -1 for none (outside the cluster).
func (h *HTMLMatrix) side(s *policy.Side) int {
	if s == nil {
		return -1
	}
	h.key = sideKey(h.key[:0], s)
	if i, ok := h.sideIndex[string(h.key)]; ok {
		return i
	}
	h.sideIndex[string(h.key)] = len(h.sides)
	h.sides = append(h.sides, s)
	return len(h.sides) - 1
}

// sideKey appends every field of a side, each terminated, so that two
// sides have one key exactly when they say the same.
func sideKey(b []byte, s *policy.Side) []byte {
	str := func(v string) { b = append(append(b, v...), 0) }
	num := func(v int) { b = append(strconv.AppendInt(b, int64(v), 10), 0) }
	opt := func(v *int) {
		if v == nil {
			str("-")
		} else {
			num(*v)
		}
	}
	match := func(m *policy.TierMatch) {
		if m == nil {
			str("-")
			return
		}
		str(m.Kind)
		str(m.Name)
		if m.Priority != nil {
			num(int(*m.Priority))
		} else {
			str("-")
		}
		num(m.Rule)
		str(m.RuleName)
		str(m.Action)
	}
	str(string(s.Verdict))
	str(string(s.Tier))
	match(s.Admin)
	match(s.Baseline)
	str(s.Undecided)
	if s.Isolated {
		str("i")
	} else {
		str("o")
	}
	num(len(s.AllowedBy))
	for _, r := range s.AllowedBy {
		str(r.Namespace)
		str(r.Name)
		num(r.Rule)
		opt(r.Peer)
		opt(r.Port)
	}
	num(len(s.IsolatedBy))
	for _, n := range s.IsolatedBy {
		str(n)
	}
	return b
}

func (h *HTMLMatrix) hintList(hs []policy.Hint) int {
	if len(hs) == 0 {
		return -1
	}
	var b strings.Builder
	for _, x := range hs {
		b.WriteString(x.Code)
		b.WriteByte(0)
		b.WriteString(x.Message)
		b.WriteByte(0)
	}
	if i, ok := h.hintIndex[b.String()]; ok {
		return i
	}
	h.hintIndex[b.String()] = len(h.hints)
	h.hints = append(h.hints, hs)
	return len(h.hints) - 1
}

// htmlData is the page's JSON: every table the cells point into.
type htmlData struct {
	APIVersion string   `json:"apiVersion"`
	Kind       string   `json:"kind"`
	Title      string   `json:"title"`
	Only       string   `json:"only,omitempty"`
	Warnings   []string `json:"warnings,omitempty"`
	Hints      bool     `json:"withHints"`
	Namespaces []string `json:"namespaces"`
	// Groups are [name, namespace index, a pod's key].
	Groups [][3]any `json:"groups"`
	// Sources are group indices, the rows; Columns [group, port] pairs.
	Sources []int      `json:"sources"`
	Columns [][2]int   `json:"columns"`
	Ports   []htmlPort `json:"ports"`
	// Kinds are [verdict (0 allowed, 1 denied, 2 unspecified), egress
	// side, ingress side, hints]: indices, -1 for none.
	Kinds    [][4]int        `json:"kinds"`
	Sides    []*policy.Side  `json:"sides"`
	HintSets [][]policy.Hint `json:"hintSets"`
}

// Close ends the cells and writes the tables and the script.
func (h *HTMLMatrix) Close() error {
	if err := h.enc.Close(); err != nil {
		return err
	}
	h.w.WriteString("</script>\n<script id=\"data\" type=\"application/json\">")
	// The page reads absent tables as empty (null in JSON).
	d := htmlData{APIVersion: ownership.APIVersion, Kind: "MatrixPage", Title: h.title, Only: h.only, Warnings: h.warns, Hints: h.withHints,
		Namespaces: h.namespaces, Sources: h.sources, Columns: h.columns, Ports: h.ports, Kinds: h.kinds, Sides: h.sides, HintSets: h.hints}
	for _, g := range h.groups {
		d.Groups = append(d.Groups, [3]any{g.name, g.ns, g.pod})
	}
	// json.Marshal escapes <, > and &, so the data cannot end the script.
	b, err := json.Marshal(d)
	if err != nil {
		return err
	}
	h.w.Write(b)
	h.w.WriteString("</script>")
	_, tail, _ := strings.Cut(htmlPage, htmlCellsMarker)
	h.w.WriteString(tail)
	return h.w.Flush()
}
