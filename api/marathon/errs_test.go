package marathon

import (
	"strings"
	"testing"
)

func TestCustomFieldErrorsNameTheField(t *testing.T) {
	for in, want := range map[string]string{
		`{"id": "a", "env": {"A": 1}}`:                    `field "env": got 1, want a string`,
		`{"id": "a", "unreachableStrategy": "sometimes"}`: `field "unreachableStrategy": got a string "sometimes", want an object`,
		`{"id": "a", "constraints": [7]}`:                 `field "constraints": got 7, want an array`,
	} {
		_, err := Decode(strings.NewReader(in), 1<<20)
		if err == nil || err.Error() != want {
			t.Errorf("%s: got %v, want %q", in, err, want)
		}
	}
}
