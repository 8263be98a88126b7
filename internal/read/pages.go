package read

import (
	"context"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// PageSize is how many objects one list request asks for: large clusters
// are read in pages, as kubectl get does, so that no response is a single
// huge body for the API server to build and for us to decode at once.
const PageSize = 500

// continued is a list response that may have more pages.
type continued interface{ GetContinue() string }

// listPages lists every page of a resource and returns the items of all.
// A continue token that expired between pages (410 Gone) restarts as one
// full list, as client-go's pager does, so the result is always one
// consistent snapshot. On error nothing is returned.
func listPages[L continued, T any](ctx context.Context, pageSize int64, list func(context.Context, metav1.ListOptions) (L, error), items func(L) []T) ([]T, error) {
	var out []T
	opts := metav1.ListOptions{Limit: max(pageSize, 0)}
	for {
		page, err := list(ctx, opts)
		if apierrors.IsResourceExpired(err) && opts.Continue != "" {
			page, err = list(ctx, metav1.ListOptions{})
			if err != nil {
				return nil, err
			}
			return items(page), nil
		}
		if err != nil {
			return nil, err
		}
		out = append(out, items(page)...)
		if page.GetContinue() == "" {
			return out, nil
		}
		opts.Continue = page.GetContinue()
	}
}
