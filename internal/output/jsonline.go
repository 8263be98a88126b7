package output

import (
	"encoding/json"
	"slices"
	"strconv"
	"unsafe"

	"github.com/netbaseline/kubectl-netbaseline/internal/policy"
)

// appendVerdictLine appends the line exactly as encoding/json writes it,
// without reflection: a matrix writes millions of them and spent half its
// CPU in json.Marshal. What it does not cover (hints, admin and baseline
// matches) it leaves to json.Marshal; ok is false then. The bytes are
// held equal to json.Marshal's by TestVerdictLineEncodesAsJSONMarshal.
func appendVerdictLine(b []byte, l *VerdictLine) ([]byte, bool) {
	return (*lineEncoder)(nil).appendVerdictLine(b, l)
}

// lineEncoder encodes the lines of one stream. The lists of policy names
// a side carries are shared by every pod of a class, so it keeps their
// encodings by the list's array, with a copy of the list to check that
// the array still holds it (it may have been changed, or freed and
// reused).
type lineEncoder struct {
	lists map[*string]encodedList
}

type encodedList struct {
	list    []string
	encoded []byte
}

// maxEncodedLists bounds the cache; it starts over when full.
const maxEncodedLists = 1 << 14

func (enc *lineEncoder) appendVerdictLine(b []byte, l *VerdictLine) ([]byte, bool) {
	x := &l.Explanation
	if len(x.Hints) > 0 || !plainSide(x.Egress) || !plainSide(x.Ingress) {
		return b, false
	}
	b = append(b, '{')
	if l.Query != 0 {
		b = strconv.AppendInt(append(b, `"query":`...), int64(l.Query), 10)
		b = append(b, ',')
	}
	if l.Expect != "" {
		b = append(appendJSONString(append(b, `"expect":`...), string(l.Expect)), ',')
	}
	if l.Met != nil {
		b = append(strconv.AppendBool(append(b, `"met":`...), *l.Met), ',')
	}
	b = appendJSONString(append(b, `"from":`...), x.From)
	b = appendJSONString(append(b, `,"to":`...), x.To)
	if x.FromGroup != "" {
		b = appendJSONString(append(b, `,"fromGroup":`...), x.FromGroup)
	}
	if x.ToGroup != "" {
		b = appendJSONString(append(b, `,"toGroup":`...), x.ToGroup)
	}
	b = strconv.AppendInt(append(b, `,"port":`...), int64(x.Port), 10)
	if x.PortName != "" {
		b = appendJSONString(append(b, `,"portName":`...), x.PortName)
	}
	b = appendJSONString(append(b, `,"protocol":`...), string(x.Protocol))
	if x.RequestedPort != "" {
		b = appendJSONString(append(b, `,"requestedPort":`...), x.RequestedPort)
	}
	b = append(b, `,"allowed":`...)
	if x.Allowed == nil {
		b = append(b, "null"...)
	} else {
		b = strconv.AppendBool(b, *x.Allowed)
	}
	b = appendJSONString(append(b, `,"verdict":`...), string(x.Verdict))
	b = enc.appendSide(append(b, `,"egress":`...), x.Egress)
	b = enc.appendSide(append(b, `,"ingress":`...), x.Ingress)
	if x.Hints == nil {
		return append(b, `,"hints":null}`...), true
	}
	return append(b, `,"hints":[]}`...), true
}

// plainSide: the side has nothing appendSide leaves to json.Marshal.
func plainSide(s *policy.Side) bool {
	return s == nil || (s.Admin == nil && s.Baseline == nil)
}

func (enc *lineEncoder) appendSide(b []byte, s *policy.Side) []byte {
	if s == nil {
		return append(b, "null"...)
	}
	b = appendJSONString(append(b, `{"verdict":`...), string(s.Verdict))
	b = appendJSONString(append(b, `,"tier":`...), string(s.Tier))
	if s.Calico != nil {
		b = appendCalicoMatch(append(b, `,"calico":`...), s.Calico)
	}
	if s.Cilium != nil {
		b = enc.appendCiliumSide(append(b, `,"cilium":`...), s.Cilium)
	}
	if s.Undecided != "" {
		b = appendJSONString(append(b, `,"undecided":`...), s.Undecided)
	}
	b = strconv.AppendBool(append(b, `,"isolated":`...), s.Isolated)
	b = append(b, `,"allowedBy":`...)
	if s.AllowedBy == nil {
		b = append(b, "null"...)
	} else {
		b = append(b, '[')
		for i := range s.AllowedBy {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendRuleRef(b, &s.AllowedBy[i])
		}
		b = append(b, ']')
	}
	return append(enc.appendNames(append(b, `,"isolatedBy":`...), s.IsolatedBy), '}')
}

// appendNames is appendStrings, from the cache where the list was seen.
func (enc *lineEncoder) appendNames(b []byte, list []string) []byte {
	if enc == nil || len(list) == 0 {
		return appendStrings(b, list)
	}
	key := unsafe.SliceData(list)
	if c, ok := enc.lists[key]; ok && slices.Equal(c.list, list) {
		return append(b, c.encoded...)
	}
	if enc.lists == nil || len(enc.lists) >= maxEncodedLists {
		enc.lists = map[*string]encodedList{}
	}
	start := len(b)
	b = appendStrings(b, list)
	enc.lists[key] = encodedList{list: slices.Clone(list), encoded: slices.Clone(b[start:])}
	return b
}

func appendRuleRef(b []byte, r *policy.RuleRef) []byte {
	b = appendJSONString(append(b, `{"namespace":`...), r.Namespace)
	b = appendJSONString(append(b, `,"name":`...), r.Name)
	b = strconv.AppendInt(append(b, `,"rule":`...), int64(r.Rule), 10)
	b = appendIntPointer(append(b, `,"peer":`...), r.Peer)
	return append(appendIntPointer(append(b, `,"port":`...), r.Port), '}')
}

func appendCalicoMatch(b []byte, m *policy.CalicoMatch) []byte {
	b = appendJSONString(append(b, `{"tier":`...), m.Tier)
	b = appendJSONString(append(b, `,"kind":`...), m.Kind)
	b = appendJSONString(append(b, `,"api":`...), m.API)
	if m.Namespace != "" {
		b = appendJSONString(append(b, `,"namespace":`...), m.Namespace)
	}
	if m.Name != "" {
		b = appendJSONString(append(b, `,"name":`...), m.Name)
	}
	b = strconv.AppendInt(append(b, `,"rule":`...), int64(m.Rule), 10)
	b = appendJSONString(append(b, `,"action":`...), m.Action)
	if len(m.Passed) > 0 {
		b = appendStrings(append(b, `,"passed":`...), m.Passed)
	}
	return append(b, '}')
}

func (enc *lineEncoder) appendCiliumSide(b []byte, c *policy.CiliumSide) []byte {
	b = appendJSONString(append(b, `{"enforcement":`...), c.Enforcement)
	b = strconv.AppendBool(append(b, `,"enforced":`...), c.Enforced)
	b = appendJSONString(append(b, `,"decision":`...), c.Decision)
	if len(c.Matches) > 0 {
		b = append(b, `,"matches":[`...)
		for i := range c.Matches {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendCiliumMatch(b, &c.Matches[i])
		}
		b = append(b, ']')
	}
	if len(c.SelectedBy) > 0 {
		b = enc.appendNames(append(b, `,"selectedBy":`...), c.SelectedBy)
	}
	if c.L7 {
		b = append(b, `,"l7":true`...)
	}
	if len(c.L7Policies) > 0 {
		b = appendStrings(append(b, `,"l7Policies":`...), c.L7Policies)
	}
	return append(b, '}')
}

func appendCiliumMatch(b []byte, m *policy.CiliumMatch) []byte {
	b = appendJSONString(append(b, `{"kind":`...), m.Kind)
	if m.Namespace != "" {
		b = appendJSONString(append(b, `,"namespace":`...), m.Namespace)
	}
	b = appendJSONString(append(b, `,"name":`...), m.Name)
	b = strconv.AppendInt(append(b, `,"rule":`...), int64(m.Rule), 10)
	b = appendJSONString(append(b, `,"section":`...), m.Section)
	b = strconv.AppendInt(append(b, `,"entry":`...), int64(m.Entry), 10)
	b = appendJSONString(append(b, `,"peer":`...), m.Peer)
	if m.Port != nil {
		b = strconv.AppendInt(append(b, `,"port":`...), int64(*m.Port), 10)
	}
	b = appendJSONString(append(b, `,"action":`...), m.Action)
	if m.L7 {
		b = append(b, `,"l7":true`...)
	}
	return append(b, '}')
}

func appendIntPointer(b []byte, p *int) []byte {
	if p == nil {
		return append(b, "null"...)
	}
	return strconv.AppendInt(b, int64(*p), 10)
}

func appendStrings(b []byte, list []string) []byte {
	if list == nil {
		return append(b, "null"...)
	}
	b = append(b, '[')
	for i, s := range list {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendJSONString(b, s)
	}
	return append(b, ']')
}

// appendJSONString quotes s directly when every byte is printable ASCII
// that encoding/json writes as itself; anything else (escapes, HTML
// characters, UTF-8) it quotes through encoding/json.
func appendJSONString(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c > 0x7e || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			quoted, _ := json.Marshal(s) // a string always encodes
			return append(b, quoted...)
		}
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"')
}
