package launch

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/netbaseline/kubectl-netbaseline/internal/probe"
)

// Observe adds an observing agent to the pod (an ephemeral container: it
// must share the pod's network namespace, so --mode=pod cannot stand in),
// waits for it to end by its own deadline and returns its report. When
// ctx ends first the container still ends on its own at the deadline.
func (r *Runner) Observe(ctx context.Context, namespace, name string, window, interval time.Duration) (*probe.SocketObservation, error) {
	key := namespace + "/" + name
	pod, err := r.source(ctx, namespace, name)
	if err != nil {
		return nil, err
	}
	if pod.Spec.HostNetwork {
		return nil, &RunError{Pod: key, Msg: "the pod uses the host network: its socket table is the node's, so it is skipped"}
	}
	if n := len(pod.Spec.EphemeralContainers); n >= ManyEphemeralContainers {
		fmt.Fprintf(r.log(), "Warning: pod %s already holds %d ephemeral containers; each observation adds one and they stay until the pod is replaced\n", key, n)
	}
	ec := probe.BuildContainer(probe.ContainerName(pod, r.suffix()), r.Image, r.PullPolicy, "")
	ec.Args = probe.ObserveArgs(window, interval)
	if err := r.addEphemeral(ctx, pod, ec, false); err != nil {
		return nil, err
	}
	waitCtx, cancel := context.WithTimeout(ctx, window+r.Wait)
	defer cancel()
	waitErr := r.waitTerminated(waitCtx, namespace, name, ec.Name)
	if waitErr != nil && ctx.Err() == nil {
		return nil, &RunError{Pod: key, Msg: waitErr.Error()}
	}
	// Interrupted: the container ends by itself at its deadline; what it
	// has reported so far (its last snapshot) is kept.
	readCtx, cancelRead := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancelRead()
	stream, err := r.Client.CoreV1().Pods(namespace).GetLogs(name, &corev1.PodLogOptions{Container: ec.Name}).Stream(readCtx)
	if err != nil {
		return nil, &RunError{Pod: key, Msg: rbacHint(err, "get", "pods/log")}
	}
	defer stream.Close()
	obs, err := lastObservation(stream)
	switch {
	case err != nil && waitErr != nil:
		return nil, &RunError{Pod: key, Msg: "interrupted before the observing container reported; it ends by itself at the end of its window"}
	case err != nil:
		return nil, &RunError{Pod: key, Msg: "the observing container printed no report: " + err.Error()}
	}
	return obs, nil
}

// lastObservation is the last complete report in an agent's log.
func lastObservation(r io.Reader) (*probe.SocketObservation, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), 16<<20)
	var last *probe.SocketObservation
	lastErr := errors.New("empty log")
	for sc.Scan() {
		var o probe.SocketObservation
		if err := json.Unmarshal(sc.Bytes(), &o); err != nil {
			lastErr = err
			continue
		}
		last = &o
	}
	if last == nil {
		return nil, errors.New(describeDecode(lastErr))
	}
	return last, nil
}

func describeDecode(err error) string {
	var syntax *json.SyntaxError
	if errors.As(err, &syntax) {
		return "not JSON (" + err.Error() + "); is the image a netbaseline-probe that knows --observe?"
	}
	return err.Error()
}

// ObserveAll observes every pod for the same window, parallel at once
// (the rest start as earlier ones end), reporting progress.
func (r *Runner) ObserveAll(ctx context.Context, pods [][2]string, parallel int, window, interval time.Duration) []probe.PodObservation {
	parallel = max(parallel, 1)
	out := make([]probe.PodObservation, len(pods))
	sem := make(chan struct{}, parallel)
	var wg sync.WaitGroup
	track := newTracker(r.Progress, len(pods), r.now)
	defer track.finish()
	for i, p := range pods {
		wg.Add(1)
		go func() {
			defer wg.Done()
			out[i] = probe.PodObservation{Namespace: p[0], Name: p[1]}
			select {
			case sem <- struct{}{}:
			case <-ctx.Done():
				out[i].Err = &RunError{Pod: p[0] + "/" + p[1], Msg: "interrupted before its observation started"}
				track.done(p[0] + "/" + p[1])
				return
			}
			defer func() { <-sem }()
			key := p[0] + "/" + p[1]
			track.started(key)
			out[i].Observation, out[i].Err = r.Observe(ctx, p[0], p[1], window, interval)
			track.done(key)
		}()
	}
	wg.Wait()
	return out
}
