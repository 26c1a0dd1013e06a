package api

import (
	"strings"
	"testing"
)

// TestDecodeStrictTypeMismatch: a value of the wrong type is named in
// JSON's words, what was sent and what the field takes, never Go's types.
func TestDecodeStrictTypeMismatch(t *testing.T) {
	type inner struct {
		N int `json:"n"`
	}
	type doc struct {
		CPUs   float64           `json:"cpus"`
		Count  uint              `json:"count"`
		Name   string            `json:"name"`
		On     bool              `json:"on"`
		Args   []string          `json:"args"`
		Env    map[string]string `json:"env"`
		Inner  inner             `json:"inner"`
		Ptr    *float64          `json:"ptr"`
		Labels map[string]int    `json:"labels"`
	}
	for in, want := range map[string]string{
		`{"cpus": "1"}`:             `field "cpus": got a string, want a number`,
		`{"count": 1.5}`:            `field "count": got 1.5, want a whole number >= 0`,
		`{"count": -1}`:             `field "count": got -1, want a whole number >= 0`,
		`{"name": 7}`:               `field "name": got a number, want a string`,
		`{"on": "yes"}`:             `field "on": got a string, want true or false`,
		`{"args": "ls -l"}`:         `field "args": got a string, want an array`,
		`{"env": ["A=1"]}`:          `field "env": got an array, want an object`,
		`{"inner": {"n": true}}`:    `field "inner.n": got true or false, want a whole number`,
		`{"ptr": {}}`:               `field "ptr": got an object, want a number`,
		`{"labels": {"a": "x"}}`:    `field "labels": got a string, want a whole number`,
		`{"cpus": 1, "name": null}`: "",
	} {
		var d doc
		err := DecodeStrict(strings.NewReader(in), &d, 1<<10)
		got := ""
		if err != nil {
			got = err.Error()
		}
		if got != want {
			t.Errorf("%s: %q, want %q", in, got, want)
		}
	}
}
