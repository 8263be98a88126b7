package reporting

import (
	"bytes"
	"context"
	"fmt"
	"io"

	"github.com/netbaseline/kubectl-netbaseline/internal/config"
	"github.com/netbaseline/kubectl-netbaseline/internal/doctor"
	"github.com/netbaseline/kubectl-netbaseline/internal/exit"
	"github.com/netbaseline/kubectl-netbaseline/internal/inventory"
	"github.com/netbaseline/kubectl-netbaseline/internal/output"
)

// Doctor is one run of doctor: the same inventory as the record, doctor's
// checks, the canary when asked, a table or document, and JUnit.
type Doctor struct {
	Config *config.Config
	// Image is the probe image the checks name.
	Image     string
	Output    string
	NoHeaders bool
	// JUnit is a file for the findings as JUnit (none when empty).
	JUnit       string
	Out, ErrOut io.Writer

	Inventory func(ctx context.Context) (*inventory.Snapshot, error)
	// Canary measures enforcement with throw-away pods (nil: not asked).
	Canary     func(ctx context.Context) doctor.Finding
	PrintTable func(io.Writer, output.Table, output.TableOptions) error
	WriteFile  func(name string, data []byte) error
}

// Run checks and prints: exit 1 when nothing could be checked, 3 when a
// check failed.
func (d Doctor) Run(ctx context.Context) error {
	snap, err := d.Inventory(ctx)
	if err != nil {
		return err
	}
	rep := doctor.Run(snap, d.Config, d.Image)
	if d.Canary != nil {
		rep.Findings = append(rep.Findings, d.Canary(ctx))
	}
	if opts, table := output.ParseTableFormat(d.Output, d.NoHeaders); table {
		err = d.PrintTable(d.Out, output.DoctorTable(rep.Findings), opts)
	} else {
		err = output.WriteDocument(d.Out, d.Output, output.NewDoctorReport(rep))
	}
	if err != nil {
		return err
	}
	if d.JUnit != "" {
		var buf bytes.Buffer
		if err := output.DoctorJUnit(&buf, rep.Findings); err != nil {
			return err
		}
		if err := d.WriteFile(d.JUnit, buf.Bytes()); err != nil {
			return fmt.Errorf("--junit: %w", err)
		}
	}
	if doctor.CheckedNothing(rep.Findings) {
		return exit.Failedf("doctor could check nothing: every read it needs was refused (see each finding); grant hack/rbac/read.yaml and rerun")
	}
	if doctor.Worst(rep.Findings) == doctor.Fail {
		return exit.Unmetf("doctor found failures")
	}
	return nil
}
