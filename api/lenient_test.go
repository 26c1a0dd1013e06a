package api

import (
	"errors"
	"net/http"
	"reflect"
	"strings"
	"testing"
)

type lenientInner struct {
	N    int64   `json:"n"`
	Name *string `json:"name,omitempty"`
}

type lenientEmbedded struct {
	Role string `json:"role"`
}

type lenientDoc struct {
	lenientEmbedded
	CPUs   float64           `json:"cpus"`
	Inner  *lenientInner     `json:"inner,omitempty"`
	List   []lenientInner    `json:"list"`
	Labels map[string]string `json:"labels"`
	Attrs  Attributes        `json:"attrs"`
	Bytes  []byte            `json:"bytes"`
}

func TestDecodeLenientReportsAndDrops(t *testing.T) {
	in := `{"cpus": 1.5, "role": "web", "offer_filters": null, "extra": {"deep": [1,2]},
		"inner": {"n": 9007199254740993, "name": null, "future": true},
		"list": [{"n": 1}, null, {"n": 2, "x": 1}],
		"labels": {"a": "1", "b": null}, "Attrs": {"rack": "r1"}, "bytes": "aGk="}`
	var got []string
	var d lenientDoc
	err := DecodeLenient(strings.NewReader(in), &d, 1<<10, func(i Ignored) { got = append(got, i.String()) })
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"extra: unknown field",
		"inner.future: unknown field",
		"inner.name: null",
		`labels["b"]: null`,
		"list[1]: null",
		"list[2].x: unknown field",
		"offer_filters: unknown field",
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("reported:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if d.CPUs != 1.5 || d.Role != "web" || d.Inner.N != 9007199254740993 || d.Inner.Name != nil ||
		len(d.List) != 2 || d.List[1].N != 2 || d.Labels["a"] != "1" || len(d.Labels) != 1 ||
		d.Attrs["rack"] != "r1" || string(d.Bytes) != "hi" {
		t.Fatalf("decoded %+v", d)
	}
}

func TestDecodeLenientErrors(t *testing.T) {
	for in, want := range map[string]string{
		`{"cpus": "1"}`:          `field "cpus": got a string, want a number`,
		`{"inner": {"n": "x"}}`:  `field "inner.n": got a string, want a whole number`,
		`{"list": [{"n": 1.5}]}`: `field "list.n": got 1.5, want a whole number`,
		`{"cpus": 1} {}`:         "trailing data",
		`{"cpus": 1`:             "ends in the middle",
		``:                       "empty body",
		`{"attrs": {"a": null}}`: `attributes["a"]: null`,
		`{"pad": "` + strings.Repeat("x", 2000) + `"}`: "larger than 1024 bytes",
	} {
		var d lenientDoc
		err := DecodeLenient(strings.NewReader(in), &d, 1<<10, nil)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%.40q: got %v, want %q", in, err, want)
		}
	}
	var d lenientDoc
	err := DecodeLenient(strings.NewReader(`{"pad": "`+strings.Repeat("x", 2000)+`"}`), &d, 1<<10, nil)
	var mbe *http.MaxBytesError
	if !errors.As(err, &mbe) {
		t.Fatalf("oversized body: %v, want a MaxBytesError", err)
	}
}
