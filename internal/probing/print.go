package probing

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"

	"github.com/netbaseline/kubectl-netbaseline/internal/exit"
	"github.com/netbaseline/kubectl-netbaseline/internal/output"
	"github.com/netbaseline/kubectl-netbaseline/internal/probe"
)

// Finish prints the document, writes --junit and --save, and returns the
// exit status of its observations.
func (p Printing) Finish(res probe.Document) error {
	var err error
	if opts, table := output.ParseTableFormat(p.Output, p.NoHeaders); !table {
		err = output.WriteDocument(p.Out, p.Output, res)
	} else {
		err = p.PrintTable(p.Out, output.ProbeTable(res.Observations), opts)
		for _, note := range output.MeshNotes(res.Observations) {
			fmt.Fprintf(p.ErrOut, "Note: %s\n", note)
		}
	}
	if err != nil {
		return err
	}
	if p.JUnit != "" {
		var buf bytes.Buffer
		if err := output.ProbeJUnit(&buf, res.Observations); err != nil {
			return err
		}
		if err := p.WriteFile(p.JUnit, buf.Bytes()); err != nil {
			return fmt.Errorf("--junit: %w", err)
		}
	}
	if p.Save != "" {
		b, err := json.MarshalIndent(res, "", "  ")
		if err != nil {
			return err
		}
		if err := p.WriteFile(p.Save, append(b, '\n')); err != nil {
			return fmt.Errorf("--save: %w", err)
		}
	}
	return Exit(res.Observations)
}

// Exit is probe's exit status for observations: 3 when a check did not
// meet its expectation, 1 when one could not run.
func Exit(obs []probe.Observation) error {
	failed, errored := 0, 0
	for _, ob := range obs {
		switch {
		case ob.Failed():
			failed++
		case ob.Result == probe.ResultError:
			errored++
		}
	}
	switch {
	case failed > 0:
		return exit.Unmetf("%d of %d check(s) did not meet expectations", failed, len(obs))
	case errored > 0:
		return exit.Failedf("%d of %d check(s) could not run", errored, len(obs))
	}
	return nil
}

// PrintContainers prints, per source, the container that would be added
// and its checks (--dry-run=client): one JSON List with -o json, else
// YAML documents.
func PrintContainers(out io.Writer, plans []probe.SourcePlan, s Settings, format string) error {
	docs := make([]map[string]any, 0, len(plans))
	for _, plan := range plans {
		agentPlan := probe.AgentPlan(plan, s.CheckTimeout)
		encoded, err := probe.EncodePlan(agentPlan)
		if err != nil {
			return err
		}
		pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: plan.Pod.Name, Namespace: plan.Pod.Namespace}}
		ec := probe.BuildContainer(probe.ContainerName(pod, probe.RandomSuffix), s.Image, corev1.PullPolicy(s.PullPolicy), encoded)
		docs = append(docs, map[string]any{"pod": plan.Pod.Key(), "ephemeralContainer": ec, "checks": agentPlan.Checks})
	}
	if format == "json" {
		b, err := json.MarshalIndent(map[string]any{"apiVersion": "v1", "kind": "List", "items": docs}, "", "    ")
		if err != nil {
			return err
		}
		_, err = fmt.Fprintf(out, "%s\n", b)
		return err
	}
	for i, doc := range docs {
		b, err := yaml.Marshal(doc)
		if err != nil {
			return err
		}
		if i > 0 {
			fmt.Fprintln(out, "---")
		}
		fmt.Fprint(out, string(b))
	}
	return nil
}
