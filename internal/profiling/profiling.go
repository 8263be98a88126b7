// Package profiling is kubectl's --profile and --profile-output.
package profiling

import (
	"fmt"
	"os"
	"runtime"
	"runtime/pprof"

	"github.com/spf13/pflag"

	"github.com/netbaseline/kubectl-netbaseline/internal/exit"
)

// Names are the profiles --profile can write, kubectl's set.
var Names = []string{"none", "cpu", "heap", "goroutine", "threadcreate", "block", "mutex"}

// Profile is kubectl's --profile and --profile-output: where the time
// of one command goes, written when the command ends.
type Profile struct {
	name, output string
	cpuFile      *os.File
}

// AddFlags registers --profile and --profile-output.
func (p *Profile) AddFlags(flags *pflag.FlagSet) {
	flags.StringVar(&p.name, "profile", "none", "Name of profile to capture. One of (none|cpu|heap|goroutine|threadcreate|block|mutex)")
	flags.StringVar(&p.output, "profile-output", "profile.pprof", "Name of the file to write the profile to")
}

// Start begins the CPU profile, or turns on the sampling the block and
// mutex profiles need; the others are taken when the command ends.
func (p *Profile) Start() error {
	switch p.name {
	case "none", "heap", "goroutine", "threadcreate":
		return nil
	case "cpu":
		f, err := os.Create(p.output)
		if err != nil {
			return fmt.Errorf("--profile-output: %w", err)
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			_ = f.Close()
			return fmt.Errorf("--profile=cpu: %w", err)
		}
		p.cpuFile = f
		return nil
	case "block":
		runtime.SetBlockProfileRate(1)
		return nil
	case "mutex":
		runtime.SetMutexProfileFraction(1)
		return nil
	}
	return exit.Usagef("--profile %q: must be one of %v", p.name, Names)
}

// Flush writes the profile; it runs whether the command succeeded or not.
func (p *Profile) Flush() error {
	switch p.name {
	case "none", "":
		return nil
	case "cpu":
		if p.cpuFile == nil {
			return nil
		}
		pprof.StopCPUProfile()
		err := p.cpuFile.Close()
		p.cpuFile = nil
		return err
	}
	prof := pprof.Lookup(p.name)
	if prof == nil {
		return nil
	}
	if p.name == "heap" {
		runtime.GC() // up-to-date statistics, as kubectl does
	}
	f, err := os.Create(p.output)
	if err != nil {
		return fmt.Errorf("--profile-output: %w", err)
	}
	if err := prof.WriteTo(f, 0); err != nil {
		_ = f.Close()
		return err
	}
	return f.Close()
}
