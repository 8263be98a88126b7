package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// A removed field, a changed signature and a new function are each
// refused; the recorded API passes.
func TestCheck(t *testing.T) {
	dir := t.TempDir()
	write := func(src string) {
		if err := os.WriteFile(filepath.Join(dir, "p.go"), []byte("package p\n\nimport \"context\"\n\nvar _ context.Context\n\n"+src), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("type T struct{ A, B string; hidden int }\n\nfunc F(x int) error { return nil }\n\nfunc (T) M() {}\n\nfunc g() {}\n")
	if err := check(dir, true); err != nil {
		t.Fatal(err)
	}
	if err := check(dir, false); err != nil {
		t.Fatalf("unchanged: %v", err)
	}
	write("type T struct{ A, B string; hidden int }\n\nfunc F(renamed int) error { return nil }\n\nfunc (T) M() {}\n")
	if err := check(dir, false); err != nil {
		t.Fatalf("a renamed parameter: %v", err)
	}
	for _, c := range []struct{ src, want string }{
		{"type T struct{ A string }\n\nfunc F(x int) error { return nil }\n\nfunc (T) M() {}\n", "incompatible API change"},
		{"type T struct{ A, B string }\n\nfunc F(x int64) error { return nil }\n\nfunc (T) M() {}\n", "pkg p, func F(int) error"},
		{"type T struct{ A, B string }\n\nfunc F(x int) error { return nil }\n\nfunc (T) M() {}\n\nfunc G() {}\n", "new API not in api.txt"},
	} {
		write(c.src)
		if err := check(dir, false); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want %q", c.src, err, c.want)
		}
	}
}
