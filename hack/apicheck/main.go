// Command apicheck holds the public Go API (pkg/...) to the api.txt file
// beside each package: one line per exported name, signature and field,
// as Go's own api/ files do. A line that changed or went away breaks
// importers: refused unless the module's major version changes. A new
// line is refused until api.txt lists it, so that every addition is
// deliberate (-w writes the file).
//
//	go run ./hack/apicheck ./pkg/netbaseline      # check
//	go run ./hack/apicheck -w ./pkg/netbaseline   # write api.txt
package main

import (
	"bytes"
	"flag"
	"fmt"
	"go/ast"
	"go/parser"
	"go/printer"
	"go/token"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

func main() {
	write := flag.Bool("w", false, "write api.txt instead of checking it")
	flag.Parse()
	failed := false
	for _, dir := range flag.Args() {
		if err := check(dir, *write); err != nil {
			fmt.Fprintln(os.Stderr, err)
			failed = true
		}
	}
	if failed {
		os.Exit(1)
	}
}

func check(dir string, write bool) error {
	lines, err := exported(dir)
	if err != nil {
		return err
	}
	file := filepath.Join(dir, "api.txt")
	if write {
		return os.WriteFile(file, []byte(strings.Join(lines, "\n")+"\n"), 0o644)
	}
	data, err := os.ReadFile(file)
	if err != nil {
		return fmt.Errorf("%s: %w (write it with go run ./hack/apicheck -w %s)", dir, err, dir)
	}
	recorded := strings.Split(strings.TrimSpace(string(data)), "\n")
	var gone, added []string
	for _, l := range recorded {
		if !slices.Contains(lines, l) {
			gone = append(gone, l)
		}
	}
	for _, l := range lines {
		if !slices.Contains(recorded, l) {
			added = append(added, l)
		}
	}
	var msg strings.Builder
	if len(gone) > 0 {
		fmt.Fprintf(&msg, "%s: incompatible API change: these lines of api.txt changed or went away, which breaks importers within a major version:\n  %s\n", dir, strings.Join(gone, "\n  "))
	}
	if len(added) > 0 {
		fmt.Fprintf(&msg, "%s: new API not in api.txt (add it deliberately: go run ./hack/apicheck -w %s):\n  %s\n", dir, dir, strings.Join(added, "\n  "))
	}
	if msg.Len() > 0 {
		return fmt.Errorf("%s", strings.TrimSpace(msg.String()))
	}
	fmt.Printf("%s: API as in api.txt (%d lines)\n", dir, len(lines))
	return nil
}

// exported lists the package's exported API, sorted.
func exported(dir string) ([]string, error) {
	fset := token.NewFileSet()
	files, err := filepath.Glob(filepath.Join(dir, "*.go"))
	if err != nil {
		return nil, err
	}
	var lines []string
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, 0)
		if err != nil {
			return nil, err
		}
		for _, d := range f.Decls {
			lines = append(lines, declLines(fset, f.Name.Name, d)...)
		}
	}
	slices.Sort(lines)
	return slices.Compact(lines), nil
}

func declLines(fset *token.FileSet, pkg string, d ast.Decl) []string {
	switch d := d.(type) {
	case *ast.FuncDecl:
		if !d.Name.IsExported() || (d.Recv != nil && !receiverExported(d.Recv)) {
			return nil
		}
		kind, recv := "func", ""
		if d.Recv != nil {
			kind, recv = "method", "("+source(fset, d.Recv.List[0].Type)+") "
		}
		return []string{fmt.Sprintf("pkg %s, %s %s%s%s%s", pkg, kind, recv, d.Name.Name, typeParams(fset, d.Type.TypeParams), signature(fset, d.Type))}
	case *ast.GenDecl:
		var out []string
		for _, spec := range d.Specs {
			out = append(out, specLines(fset, pkg, d.Tok, spec)...)
		}
		return out
	}
	return nil
}

func specLines(fset *token.FileSet, pkg string, tok token.Token, spec ast.Spec) []string {
	var out []string
	switch s := spec.(type) {
	case *ast.TypeSpec:
		if !s.Name.IsExported() {
			return nil
		}
		name := s.Name.Name + typeParams(fset, s.TypeParams)
		st, ok := s.Type.(*ast.StructType)
		switch {
		case s.Assign != 0:
			return []string{fmt.Sprintf("pkg %s, type %s = %s", pkg, name, source(fset, s.Type))}
		case !ok:
			return []string{fmt.Sprintf("pkg %s, type %s %s", pkg, name, typeSource(fset, s.Type))}
		}
		out = append(out, fmt.Sprintf("pkg %s, type %s struct", pkg, name))
		for _, field := range st.Fields.List {
			if len(field.Names) == 0 { // embedded: its fields and methods are the type's
				out = append(out, fmt.Sprintf("pkg %s, type %s struct, embedded %s", pkg, name, source(fset, field.Type)))
			}
			for _, n := range field.Names {
				if n.IsExported() {
					out = append(out, fmt.Sprintf("pkg %s, type %s struct, %s %s", pkg, name, n.Name, typeSource(fset, field.Type)))
				}
			}
		}
	case *ast.ValueSpec:
		for i, n := range s.Names {
			if !n.IsExported() {
				continue
			}
			line := fmt.Sprintf("pkg %s, %s %s", pkg, tok, n.Name)
			if s.Type != nil {
				line += " " + typeSource(fset, s.Type)
			}
			if tok == token.CONST && i < len(s.Values) { // a constant's value is its API
				line += " = " + source(fset, s.Values[i])
			}
			out = append(out, line)
		}
	}
	return out
}

func receiverExported(recv *ast.FieldList) bool {
	t := recv.List[0].Type
	if star, ok := t.(*ast.StarExpr); ok {
		t = star.X
	}
	switch g := t.(type) { // a generic type's receiver names its parameters
	case *ast.IndexExpr:
		t = g.X
	case *ast.IndexListExpr:
		t = g.X
	}
	id, ok := t.(*ast.Ident)
	return ok && id.IsExported()
}

// signature is a function's parameter and result types, without names
// (renaming a parameter breaks no importer).
func signature(fset *token.FileSet, f *ast.FuncType) string {
	out := "(" + fieldTypes(fset, f.Params) + ")"
	if f.Results == nil || len(f.Results.List) == 0 {
		return out
	}
	results := fieldTypes(fset, f.Results)
	if len(f.Results.List) == 1 && len(f.Results.List[0].Names) <= 1 {
		return out + " " + results
	}
	return out + " (" + results + ")"
}

func fieldTypes(fset *token.FileSet, fields *ast.FieldList) string {
	if fields == nil {
		return ""
	}
	var types []string
	for _, f := range fields.List {
		n := max(len(f.Names), 1)
		for range n {
			types = append(types, typeSource(fset, f.Type))
		}
	}
	return strings.Join(types, ", ")
}

func typeParams(fset *token.FileSet, params *ast.FieldList) string {
	if params == nil || len(params.List) == 0 {
		return ""
	}
	return "[" + fieldTypes(fset, params) + "]"
}

// typeSource is a type as written, with the parameter names of function
// types left out.
func typeSource(fset *token.FileSet, t ast.Expr) string {
	if f, ok := t.(*ast.FuncType); ok {
		return "func" + signature(fset, f)
	}
	return source(fset, t)
}

func source(fset *token.FileSet, n ast.Node) string {
	var b bytes.Buffer
	_ = printer.Fprint(&b, fset, n)
	return strings.Join(strings.Fields(b.String()), " ")
}
