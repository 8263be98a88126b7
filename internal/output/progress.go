package output

import (
	"fmt"
	"io"
	"sync"
	"time"
)

// ProgressLine shows how long work goes, on stderr: on a terminal one line
// rewritten in place, elsewhere (CI logs) a plain line each time another
// piece is done. It satisfies probe/launch's Progress.
type ProgressLine struct {
	mu       sync.Mutex
	w        io.Writer
	terminal bool
	what     string
	lastDone int
	shown    bool
}

// NewProgressLine reports on w; what names the pieces ("pods").
func NewProgressLine(w io.Writer, terminal bool, what string) *ProgressLine {
	return &ProgressLine{w: w, terminal: terminal, what: what, lastDone: -1}
}

// Update shows done of total, the time so far and what is waited on longest.
func (p *ProgressLine) Update(done, total int, elapsed time.Duration, slowest string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	line := fmt.Sprintf("%d/%d %s done, %s", done, total, p.what, elapsed.Round(time.Second))
	if slowest != "" && done < total {
		line += ", waiting longest on " + slowest
	}
	switch {
	case p.terminal:
		fmt.Fprintf(p.w, "\r\033[K%s", line)
		p.shown = true
	case done != p.lastDone:
		fmt.Fprintln(p.w, line)
	}
	p.lastDone = done
}

// Finish ends the line on a terminal, so what follows starts on its own.
func (p *ProgressLine) Finish() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.terminal && p.shown {
		fmt.Fprintln(p.w)
	}
}
