package api

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"reflect"
	"slices"
	"strings"
)

// DecodeStrict decodes one JSON value from r into v: unknown fields,
// trailing data and bodies over limit bytes are errors. Every headroom API
// decodes its requests this way, so a typo in a field name fails loudly
// instead of silently running the default.
func DecodeStrict(r io.Reader, v any, limit int64) error {
	lr := &io.LimitedReader{R: r, N: limit + 1}
	dec := json.NewDecoder(lr)
	dec.DisallowUnknownFields()
	return decodeOne(dec, lr, limit, v)
}

// decodeOne decodes the one JSON value a body may hold into v: a body over
// limit (lr counts what is left of limit+1) or anything after the value
// is an error.
func decodeOne(dec *json.Decoder, lr *io.LimitedReader, limit int64, v any) error {
	tooLarge := func() error {
		return fmt.Errorf("body larger than %d bytes: %w", limit, &http.MaxBytesError{Limit: limit})
	}
	if err := dec.Decode(v); err != nil {
		if lr.N <= 0 {
			return tooLarge()
		}
		return explainDecodeError(err)
	}
	if dec.More() {
		return errors.New("trailing data after the JSON value")
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		if lr.N <= 0 {
			return tooLarge()
		}
		return errors.New("trailing data after the JSON value")
	}
	return nil
}

// explainDecodeError words an encoding/json error in terms of the input:
// where it is malformed, which field has the wrong type.
func explainDecodeError(err error) error {
	if errors.Is(err, io.EOF) {
		return errors.New("empty body")
	}
	if errors.Is(err, io.ErrUnexpectedEOF) {
		return errors.New("malformed JSON: the body ends in the middle of a value")
	}
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return fmt.Errorf("malformed JSON at byte %d: %w", se.Offset, err)
	}
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		if te.Field == "" {
			// A map value or the top level: name where it is.
			return fmt.Errorf("value at byte %d: %s", te.Offset, TypeMismatch(te))
		}
		return fmt.Errorf("field %q: %s", te.Field, TypeMismatch(te))
	}
	// DisallowUnknownFields' error has no type of its own; its
	// "json: " prefix names the library, not the input.
	if field, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
		return fmt.Errorf("unknown field %s", field)
	}
	return err
}

// TypeMismatch words a JSON value of the wrong type in JSON's terms, what
// was sent and what the field takes ("got a string, want a number"):
// encoding/json's own "string is not a valid float64" names Go types the
// sender never wrote.
func TypeMismatch(te *json.UnmarshalTypeError) string {
	got := te.Value
	switch {
	case strings.HasPrefix(got, "number "):
		got = strings.TrimPrefix(got, "number ")
	case got == "bool":
		got = "true or false"
	case got == "array" || got == "object":
		got = "an " + got
	default:
		got = "a " + got
	}
	return "got " + got + ", want " + jsonKind(te.Type)
}

// jsonKind is what JSON value a Go type decodes from.
func jsonKind(t reflect.Type) string {
	if t == nil {
		return "another type"
	}
	switch t.Kind() {
	case reflect.Pointer:
		return jsonKind(t.Elem())
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return "a whole number"
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "a whole number >= 0"
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "true or false"
	case reflect.Slice, reflect.Array:
		return "an array"
	case reflect.Map, reflect.Struct:
		return "an object"
	}
	return t.String()
}

// Attributes are a host's attributes as requests carry them: a JSON object
// of strings. A null value is refused, naming its key: encoding/json would
// store it as "" and an attribute would silently change meaning.
type Attributes map[string]string

// UnmarshalJSON refuses null values.
func (a *Attributes) UnmarshalJSON(b []byte) error {
	var raw map[string]*string
	if err := json.Unmarshal(b, &raw); err != nil {
		return err
	}
	if raw == nil {
		*a = nil
		return nil
	}
	keys := make([]string, 0, len(raw))
	for k := range raw {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	out := make(Attributes, len(raw))
	for _, k := range keys {
		if raw[k] == nil {
			return fmt.Errorf("attributes[%q]: null is not a string", k)
		}
		out[k] = *raw[k]
	}
	*a = out
	return nil
}

// DecodeAttributes decodes a request body that is a set of attributes, as
// DecodeStrict does: null values are refused (see Attributes), and so is a
// null body; {} is the empty set.
func DecodeAttributes(r io.Reader, limit int64) (map[string]string, error) {
	var attrs Attributes
	if err := DecodeStrict(r, &attrs, limit); err != nil {
		return nil, err
	}
	if attrs == nil {
		return nil, errors.New("attributes: must be a JSON object of strings, got null")
	}
	return attrs, nil
}
