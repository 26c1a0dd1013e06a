package httpserver

import (
	"bytes"
	"encoding/json"
	"math"
	"net/http/httptest"
	"testing"
	"time"
)

// appendIndent writes exactly what json.Indent does on json.Marshal's
// output, and WriteJSON what json.Encoder with SetIndent did.
func TestAppendIndentIsJSONIndent(t *testing.T) {
	values := []any{
		nil, true, 0, -1.5e-9, math.MaxInt64, "", "a\"b\\c,{}[]:", "<html>&</html>", "\u2028 é \x01",
		[]int{}, map[string]int{}, []any{[]int{}, map[string]any{}, []any{nil}},
		map[string]any{"a": []any{1, "x", map[string]any{"b": map[string]any{}, "c": []string{"]", "}"}}}, "d": nil},
		struct {
			ID    string            `json:"id"`
			Attrs map[string]string `json:"attributes"`
			When  time.Time         `json:"when"`
			Raw   json.RawMessage   `json:"raw"`
		}{"web-1", map[string]string{"k:\"": "v,["}, time.Unix(1, 2).UTC(), json.RawMessage(`{"x": [1, 2]}`)},
	}
	for _, v := range values {
		b, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		var want bytes.Buffer
		if err := json.Indent(&want, b, "", "  "); err != nil {
			t.Fatal(err)
		}
		if got := appendIndent(nil, b); !bytes.Equal(got, want.Bytes()) {
			t.Errorf("appendIndent(%s) =\n%s\nwant\n%s", b, got, want.Bytes())
		}
		var enc bytes.Buffer
		e := json.NewEncoder(&enc)
		e.SetIndent("", "  ")
		if err := e.Encode(v); err != nil {
			t.Fatal(err)
		}
		rec := httptest.NewRecorder()
		WriteJSON(rec, 201, v)
		if rec.Code != 201 || !bytes.Equal(rec.Body.Bytes(), enc.Bytes()) {
			t.Errorf("WriteJSON(%s) = %d\n%s\nwant\n%s", b, rec.Code, rec.Body.Bytes(), enc.Bytes())
		}
	}
}

func FuzzAppendIndent(f *testing.F) {
	f.Add(`{"a":[1,{"b":"c\"d"},[],{}],"e":null}`)
	f.Add(`["\\",",",":","{"]`)
	f.Fuzz(func(t *testing.T, s string) {
		var v any
		if json.Unmarshal([]byte(s), &v) != nil {
			return
		}
		b, err := json.Marshal(v)
		if err != nil {
			return
		}
		var want bytes.Buffer
		if err := json.Indent(&want, b, "", "  "); err != nil {
			t.Fatal(err)
		}
		if got := appendIndent(nil, b); !bytes.Equal(got, want.Bytes()) {
			t.Fatalf("appendIndent(%s) =\n%s\nwant\n%s", b, got, want.Bytes())
		}
	})
}
