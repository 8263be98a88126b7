// Package strict finds what a decoder would drop silently: fields of a
// document that its Go type does not have.
package strict

import (
	"encoding/json"
	"fmt"
	"reflect"
	"sort"
	"strings"
	"sync"
)

var unmarshaler = reflect.TypeOf((*json.Unmarshaler)(nil)).Elem()

// UnknownFields lists the fields of doc (decoded YAML or JSON: maps, lists,
// scalars) that the Go type t does not have, with their paths
// (namespaces[0].apps[1].ingres: unknown field), so that a typo is reported
// where it is instead of silently dropped.
func UnknownFields(doc any, t reflect.Type, path string) []string {
	if !hasUnknown(doc, t) {
		return nil // the common case, checked without building any path
	}
	return unknownFields(doc, t, path)
}

// hasUnknown reports whether doc has a field t does not, allocating
// nothing.
func hasUnknown(doc any, t reflect.Type) bool {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.Struct:
		m, ok := doc.(map[string]any)
		if !ok || decodesItself(t) {
			return false
		}
		fields := jsonFields(t)
		for k, v := range m {
			ft, ok := fields[k]
			if !ok || hasUnknown(v, ft) {
				return true
			}
		}
	case reflect.Slice:
		if l, ok := doc.([]any); ok {
			for _, e := range l {
				if hasUnknown(e, t.Elem()) {
					return true
				}
			}
		}
	case reflect.Map:
		if m, ok := doc.(map[string]any); ok {
			for _, e := range m {
				if hasUnknown(e, t.Elem()) {
					return true
				}
			}
		}
	}
	return false
}

// implementsCache holds, per type, whether it decodes itself.
var implementsCache sync.Map // reflect.Type -> bool

func decodesItself(t reflect.Type) bool {
	if v, ok := implementsCache.Load(t); ok {
		return v.(bool)
	}
	v := reflect.PointerTo(t).Implements(unmarshaler)
	implementsCache.Store(t, v)
	return v
}

func unknownFields(doc any, t reflect.Type, path string) []string {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if decodesItself(t) {
		return nil // decodes itself (IntOrString, Quantity, Time): not a field map
	}
	var out []string
	switch t.Kind() {
	case reflect.Struct:
		m, ok := doc.(map[string]any)
		if !ok {
			return nil // the JSON decoder reports the type mismatch
		}
		fields := jsonFields(t)
		keys := make([]string, 0, len(m))
		for k := range m {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			ft, ok := fields[k]
			if !ok {
				out = append(out, fmt.Sprintf("%s: unknown field%s", join(path, k), suggestion(k, fields)))
				continue
			}
			out = append(out, unknownFields(m[k], ft, join(path, k))...)
		}
	case reflect.Slice:
		if l, ok := doc.([]any); ok {
			for i, e := range l {
				out = append(out, unknownFields(e, t.Elem(), fmt.Sprintf("%s[%d]", path, i))...)
			}
		}
	case reflect.Map:
		if m, ok := doc.(map[string]any); ok {
			keys := make([]string, 0, len(m))
			for k := range m {
				keys = append(keys, k)
			}
			sort.Strings(keys) // the same order on every run
			for _, k := range keys {
				out = append(out, unknownFields(m[k], t.Elem(), join(path, k))...)
			}
		}
	}
	return out
}

// fieldCache holds jsonFields per type: reflection once, not per object.
var fieldCache sync.Map // reflect.Type -> map[string]reflect.Type

// jsonFields maps a struct's JSON names to their types, inlined structs
// included.
func jsonFields(t reflect.Type) map[string]reflect.Type {
	if m, ok := fieldCache.Load(t); ok {
		return m.(map[string]reflect.Type)
	}
	m := computeFields(t)
	fieldCache.Store(t, m)
	return m
}

func computeFields(t reflect.Type) map[string]reflect.Type {
	out := map[string]reflect.Type{}
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		name, opts, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "-" {
			continue
		}
		if f.Anonymous && (name == "" || strings.Contains(opts, "inline")) {
			ft := f.Type
			if ft.Kind() == reflect.Pointer {
				ft = ft.Elem()
			}
			for k, v := range computeFields(ft) {
				out[k] = v
			}
			continue
		}
		if name == "" {
			name = f.Name
		}
		out[name] = f.Type
	}
	return out
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// suggestion names a known field that differs only in case, the most
// common typo in hand-written YAML.
func suggestion(key string, fields map[string]reflect.Type) string {
	for name := range fields {
		if strings.EqualFold(name, key) {
			return fmt.Sprintf(" (did you mean %q?)", name)
		}
	}
	return ""
}
