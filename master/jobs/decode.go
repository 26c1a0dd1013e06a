package jobs

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
	"sort"
	"strings"

	"github.com/headroom-dev/headroom/api"
	"github.com/headroom-dev/headroom/master/framework"
)

// DecodeJob reads one job definition (strict JSON, at most MaxBodyBytes)
// and fills defaults. It does not validate a definition that decodes:
// call Validate. One that does not decode is answered with every problem
// at once, as a *ValidationError: each unknown field, each value of the
// wrong type, and what Validate finds in the fields that did decode, so a
// user fixes a definition in one round rather than one field per try.
func DecodeJob(r io.Reader) (Job, error) {
	var raw json.RawMessage
	if err := api.DecodeStrict(r, &raw, MaxBodyBytes); err != nil {
		return Job{}, fmt.Errorf("decode job: %w", err)
	}
	var j Job
	if err := json.Unmarshal(raw, &j); err == nil {
		return j, nil
	}
	v := &framework.Validator{}
	bad := map[string]bool{}
	j = decodeJobFields(raw, v, bad)
	if bad[""] {
		// Not an object at all: nothing else to say.
		return Job{}, v.Err("invalid job")
	}
	if err := j.Validate(); err != nil {
		var ve *ValidationError
		if errors.As(err, &ve) {
			for _, d := range ve.Details {
				if !coveredBy(d.Path, bad) {
					for _, e := range d.Errors {
						v.Add(d.Path, "%s", e)
					}
				}
			}
		}
	}
	if err := v.Err("invalid job"); err != nil {
		return Job{}, err
	}
	// Unreachable in practice: the strict decoding failed, so some field
	// was recorded. Say so rather than accept the definition.
	return Job{}, errors.New("decode job: the definition does not decode")
}

// coveredBy reports whether path is, or lies under, a field that did not
// decode: its validation error would only repeat the decoding one (a
// default in place of the bad value).
func coveredBy(path string, bad map[string]bool) bool {
	for b := range bad {
		if path == b || strings.HasPrefix(path, b+".") || strings.HasPrefix(path, b+"[") {
			return true
		}
	}
	return false
}

// decodeJobFields decodes the job field by field, recording each problem
// in v and its path in bad.
func decodeJobFields(raw []byte, v *framework.Validator, bad map[string]bool) Job {
	j := Job{Run: NewRunSpec()}
	top := struct {
		ID          string            `json:"id"`
		Description string            `json:"description"`
		Labels      map[string]string `json:"labels"`
	}{}
	fields := decodeObject("", raw, &top, []string{"run", "schedules"}, v, bad)
	j.ID, j.Description, j.Labels = top.ID, top.Description, top.Labels
	if r, ok := fields["run"]; ok && string(r) != "null" {
		p := plainRunSpec(NewRunSpec())
		decodeObject("run", r, &p, nil, v, bad)
		j.Run = RunSpec(p)
	}
	if s, ok := fields["schedules"]; ok && string(s) != "null" {
		var list []json.RawMessage
		if err := json.Unmarshal(s, &list); err != nil {
			v.Add("schedules", "must be a list of schedules")
			bad["schedules"] = true
			return j
		}
		j.Schedules = make([]Schedule, 0, len(list))
		for i, r := range list {
			p := plainSchedule(NewSchedule(DefaultScheduleID, ""))
			decodeObject(fmt.Sprintf("schedules[%d]", i), r, &p, nil, v, bad)
			j.Schedules = append(j.Schedules, Schedule(p))
		}
	}
	return j
}

// decodeObject decodes the JSON object raw into the struct target one
// field at a time (each strictly), recording in v every unknown field and
// every value that does not decode. Keys named in nested are not decoded:
// they are returned with the others, for the caller to descend into.
func decodeObject(prefix string, raw []byte, target any, nested []string, v *framework.Validator, bad map[string]bool) map[string]json.RawMessage {
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(raw, &obj); err != nil || obj == nil && string(bytes.TrimSpace(raw)) != "null" {
		where := prefix
		if where == "" {
			where = "the body"
		}
		v.Add(where, "must be a JSON object")
		bad[prefix] = true
		return nil
	}
	rv := reflect.ValueOf(target).Elem()
	rt := rv.Type()
	byName := map[string]int{}
	for i := range rt.NumField() {
		name, _, _ := strings.Cut(rt.Field(i).Tag.Get("json"), ",")
		if name != "" && name != "-" {
			byName[name] = i
		}
	}
	keys := make([]string, 0, len(obj))
	for k := range obj {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		path := k
		if prefix != "" {
			path = prefix + "." + k
		}
		if isNested(k, nested) {
			continue
		}
		i, ok := byName[k]
		if !ok {
			// encoding/json matches names case-insensitively; so do we,
			// so that what decodes strictly decodes here too.
			for name, idx := range byName {
				if strings.EqualFold(name, k) {
					i, ok = idx, true
					break
				}
			}
		}
		if !ok {
			v.Add(path, "unknown field")
			bad[path] = true
			continue
		}
		dec := json.NewDecoder(bytes.NewReader(obj[k]))
		dec.DisallowUnknownFields()
		if err := dec.Decode(rv.Field(i).Addr().Interface()); err != nil {
			v.Add(path, "%s", fieldDecodeError(err))
			bad[path] = true
		}
	}
	return obj
}

func isNested(k string, nested []string) bool {
	for _, n := range nested {
		if k == n {
			return true
		}
	}
	return false
}

// fieldDecodeError words a field's decoding error without the "json: "
// of the standard library, naming where inside the value it is.
func fieldDecodeError(err error) string {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		if te.Field != "" {
			return fmt.Sprintf("%s: %s", te.Field, api.TypeMismatch(te))
		}
		return api.TypeMismatch(te)
	}
	return strings.TrimPrefix(err.Error(), "json: ")
}
