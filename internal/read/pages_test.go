package read

import (
	"context"
	"errors"
	"slices"
	"testing"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// pagedPods serves names in pages as the API server does; expireAt makes
// the continue token of that page stale (410 Gone), failAt fails that call.
func pagedPods(names []string, expireAt, failAt int) (func(context.Context, metav1.ListOptions) (*corev1.PodList, error), *[]metav1.ListOptions) {
	var calls []metav1.ListOptions
	return func(_ context.Context, opts metav1.ListOptions) (*corev1.PodList, error) {
		calls = append(calls, opts)
		if len(calls) == failAt {
			return nil, errors.New("connection reset")
		}
		start := 0
		if opts.Continue != "" {
			if len(calls) == expireAt {
				return nil, apierrors.NewResourceExpired("the provided continue parameter is too old")
			}
			start = int(opts.Continue[0] - '0')
		}
		end := len(names)
		if opts.Limit > 0 {
			end = min(start+int(opts.Limit), len(names))
		}
		l := &corev1.PodList{}
		for _, n := range names[start:end] {
			l.Items = append(l.Items, corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: n}})
		}
		if end < len(names) {
			l.Continue = string(rune('0' + end))
		}
		return l, nil
	}, &calls
}

func TestListPages(t *testing.T) {
	names := []string{"a", "b", "c", "d", "e", "f", "g"}
	items := func(l *corev1.PodList) []corev1.Pod { return l.Items }
	got := func(pods []corev1.Pod) []string {
		var out []string
		for _, p := range pods {
			out = append(out, p.Name)
		}
		return out
	}
	ctx := context.Background()

	list, calls := pagedPods(names, 0, 0)
	pods, err := listPages(ctx, 3, list, items)
	if err != nil || !slices.Equal(got(pods), names) || len(*calls) != 3 {
		t.Errorf("pages of 3: %v %v after %d calls", got(pods), err, len(*calls))
	}

	// The token of the second page expired: one full list, no duplicates.
	list, calls = pagedPods(names, 2, 0)
	pods, err = listPages(ctx, 3, list, items)
	if err != nil || !slices.Equal(got(pods), names) || len(*calls) != 3 || (*calls)[2].Limit != 0 {
		t.Errorf("expired token: %v %v after calls %+v", got(pods), err, *calls)
	}

	// A failure on a later page returns nothing read so far.
	list, _ = pagedPods(names, 0, 2)
	if pods, err = listPages(ctx, 3, list, items); err == nil || pods != nil {
		t.Errorf("failed page: %v %v", got(pods), err)
	}

	// A negative page size is one request without a limit.
	list, calls = pagedPods(names, 0, 0)
	if pods, _ = listPages(ctx, -1, list, items); len(pods) != len(names) || len(*calls) != 1 || (*calls)[0].Limit != 0 {
		t.Errorf("one response: %d pods after %+v", len(pods), *calls)
	}
}
