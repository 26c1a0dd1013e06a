package api

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
)

// DecodeStrict decodes one JSON value from r into v: unknown fields,
// trailing data and bodies over limit bytes are errors. Every headroom API
// decodes its requests this way, so a typo in a field name fails loudly
// instead of silently running the default.
func DecodeStrict(r io.Reader, v any, limit int64) error {
	lr := &io.LimitedReader{R: r, N: limit + 1}
	dec := json.NewDecoder(lr)
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		if lr.N <= 0 {
			return fmt.Errorf("body larger than %d bytes: %w", limit, &http.MaxBytesError{Limit: limit})
		}
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
				return fmt.Errorf("value at byte %d: %s is not a valid %s", te.Offset, te.Value, te.Type)
			}
			return fmt.Errorf("field %q: %s is not a valid %s", te.Field, te.Value, te.Type)
		}
		return err
	}
	if dec.More() {
		return errors.New("trailing data after the JSON value")
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return errors.New("trailing data after the JSON value")
	}
	return nil
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
