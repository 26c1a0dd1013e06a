package api

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"reflect"
	"sort"
	"strings"
)

// Ignored is one part of a request that DecodeLenient left out.
type Ignored struct {
	// Path is where it was, in JSON terms: "subscribe.framework_info.offer_filters",
	// "healthChecks[0].portIndex".
	Path string
	// Why is "unknown field" or "null".
	Why string
}

func (i Ignored) String() string { return i.Path + ": " + i.Why }

// Why values of Ignored.
const (
	IgnoredUnknown = "unknown field"
	IgnoredNull    = "null"
)

// DecodeLenient decodes one JSON value from r into v the way protobuf's
// JSON parsing and Marathon's reader do: fields v has no place for, and
// nulls (which mean "absent"), are left out and passed to report (which
// may be nil) instead of failing the request; a value of the wrong type,
// malformed JSON, trailing data and bodies over limit bytes are still
// errors that name the field. The wire APIs other systems' clients speak
// decode this way; headroom's own APIs stay strict (DecodeStrict).
//
// Types with their own UnmarshalJSON are handed their value untouched:
// what they accept is theirs to say.
func DecodeLenient(r io.Reader, v any, limit int64, report func(Ignored)) error {
	lr := &io.LimitedReader{R: r, N: limit + 1}
	dec := json.NewDecoder(lr)
	// Numbers stay as written, so that re-encoding the cleaned tree loses
	// no precision of large integers.
	dec.UseNumber()
	var tree any
	if err := decodeOne(dec, lr, limit, &tree); err != nil {
		return err
	}
	if report == nil {
		report = func(Ignored) {}
	}
	rv := reflect.ValueOf(v)
	if rv.Kind() != reflect.Pointer || rv.IsNil() {
		return fmt.Errorf("decoding into %T: want a non-nil pointer", v)
	}
	tree, keep := prune(rv.Type().Elem(), tree, "", report)
	if !keep {
		// A null document leaves v as it is, as encoding/json does.
		return nil
	}
	data, err := json.Marshal(tree)
	if err != nil {
		return fmt.Errorf("re-encoding the request: %w", err)
	}
	strict := json.NewDecoder(bytes.NewReader(data))
	strict.DisallowUnknownFields()
	if err := strict.Decode(v); err != nil {
		return explainDecodeError(err)
	}
	return nil
}

var unmarshalerType = reflect.TypeFor[json.Unmarshaler]()

// prune removes from the decoded tree v what type t has no place for, and
// the nulls, reporting each. It returns the value to keep and whether to
// keep it at all.
func prune(t reflect.Type, v any, path string, report func(Ignored)) (any, bool) {
	if v == nil {
		report(Ignored{Path: orTop(path), Why: IgnoredNull})
		return nil, false
	}
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t.Implements(unmarshalerType) || reflect.PointerTo(t).Implements(unmarshalerType) {
		return v, true
	}
	switch t.Kind() {
	case reflect.Struct:
		obj, ok := v.(map[string]any)
		if !ok {
			return v, true // the strict pass names the type mismatch
		}
		fields := jsonFields(t)
		for _, k := range sortedKeys(obj) {
			ft, ok := fields[k]
			if !ok {
				// encoding/json matches names case-insensitively.
				for name, f := range fields {
					if strings.EqualFold(name, k) {
						ft, ok = f, true
						break
					}
				}
			}
			p := joinPath(path, k)
			if !ok {
				report(Ignored{Path: p, Why: IgnoredUnknown})
				delete(obj, k)
				continue
			}
			nv, keep := prune(ft, obj[k], p, report)
			if !keep {
				delete(obj, k)
				continue
			}
			obj[k] = nv
		}
		return obj, true
	case reflect.Slice, reflect.Array:
		arr, ok := v.([]any)
		if !ok {
			return v, true
		}
		out := arr[:0]
		for i, e := range arr {
			nv, keep := prune(t.Elem(), e, fmt.Sprintf("%s[%d]", path, i), report)
			if keep {
				out = append(out, nv)
			}
		}
		return out, true
	case reflect.Map:
		obj, ok := v.(map[string]any)
		if !ok {
			return v, true
		}
		for _, k := range sortedKeys(obj) {
			nv, keep := prune(t.Elem(), obj[k], fmt.Sprintf("%s[%q]", path, k), report)
			if !keep {
				delete(obj, k)
				continue
			}
			obj[k] = nv
		}
		return obj, true
	}
	return v, true
}

// jsonFields maps the JSON names of t's fields, embedded structs'
// included, to their types, as encoding/json sees them.
func jsonFields(t reflect.Type) map[string]reflect.Type {
	out := map[string]reflect.Type{}
	var walk func(t reflect.Type)
	walk = func(t reflect.Type) {
		for i := range t.NumField() {
			f := t.Field(i)
			tag := f.Tag.Get("json")
			if tag == "-" {
				continue
			}
			name, _, _ := strings.Cut(tag, ",")
			if f.Anonymous && name == "" {
				ft := f.Type
				if ft.Kind() == reflect.Pointer {
					ft = ft.Elem()
				}
				if ft.Kind() == reflect.Struct {
					walk(ft)
					continue
				}
			}
			if !f.IsExported() {
				continue
			}
			if name == "" {
				name = f.Name
			}
			if _, dup := out[name]; !dup {
				out[name] = f.Type
			}
		}
	}
	walk(t)
	return out
}

func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func joinPath(path, k string) string {
	if path == "" {
		return k
	}
	return path + "." + k
}

func orTop(path string) string {
	if path == "" {
		return "(the document)"
	}
	return path
}
