package explain

import (
	"fmt"
	"io"
	"time"

	"github.com/netbaseline/kubectl-netbaseline/internal/policy"
)

// Progress is where a long matrix says how far it is (stderr): on a
// terminal one line rewritten in place, elsewhere a line every few
// seconds. Nothing is said of a matrix done within a second.
type Progress struct {
	W        io.Writer
	Terminal bool
}

// Intervals between two progress lines, and the quiet start.
const (
	progressQuiet    = time.Second
	progressTerminal = 250 * time.Millisecond
	progressLog      = 5 * time.Second
)

// matrixProgress counts destination groups as the matrix streams them:
// the engine yields every verdict of one destination before the next.
type matrixProgress struct {
	p           *Progress
	now         func() time.Time
	total, done int
	current     string
	start, last time.Time
	shown       bool
}

func (c Config) progress(destinations int) *matrixProgress {
	now := c.Now
	if now == nil {
		now = time.Now
	}
	return &matrixProgress{p: c.Progress, now: now, total: destinations, start: now()}
}

func (m *matrixProgress) see(x policy.Explanation) {
	if m.p == nil || x.ToGroup == m.current {
		return
	}
	if m.current != "" {
		m.done++
	}
	m.current = x.ToGroup
	now := m.now()
	interval := progressLog
	if m.p.Terminal {
		interval = progressTerminal
	}
	if now.Sub(m.start) < progressQuiet || (m.shown && now.Sub(m.last) < interval) {
		return
	}
	m.print(now)
}

func (m *matrixProgress) print(now time.Time) {
	elapsed := now.Sub(m.start)
	line := fmt.Sprintf("%d/%d destination groups, %s", m.done, m.total, elapsed.Round(time.Second))
	if m.done > 0 && m.done < m.total {
		left := time.Duration(float64(elapsed) * float64(m.total-m.done) / float64(m.done))
		line += fmt.Sprintf(", about %s left", left.Round(time.Second))
	}
	if m.p.Terminal {
		fmt.Fprintf(m.p.W, "\r\033[K%s", line)
	} else {
		fmt.Fprintln(m.p.W, line)
	}
	m.shown, m.last = true, now
}

// finish says the matrix is done, when progress was shown at all.
func (m *matrixProgress) finish() {
	if m.p == nil || !m.shown {
		return
	}
	m.done = m.total
	m.print(m.now())
	if m.p.Terminal {
		fmt.Fprintln(m.p.W)
	}
}
