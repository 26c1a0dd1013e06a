package recordio

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
)

func TestRoundTrip(t *testing.T) {
	recs := []string{`{"type":"SUBSCRIBED"}`, "", `{"type":"HEARTBEAT"}`, strings.Repeat("x", 5000)}
	var b bytes.Buffer
	w := NewWriter(&b)
	for _, r := range recs {
		if err := w.WriteRecord([]byte(r)); err != nil {
			t.Fatal(err)
		}
	}
	if !strings.HasPrefix(b.String(), "21\n{\"type\":\"SUBSCRIBED\"}0\n20\n") {
		t.Fatalf("framing: %q", b.String()[:40])
	}
	r := NewReader(&b, 1<<20)
	for i, want := range recs {
		got, err := r.ReadRecord()
		if err != nil {
			t.Fatalf("record %d: %v", i, err)
		}
		if string(got) != want {
			t.Fatalf("record %d: got %q, want %q", i, got, want)
		}
	}
	if _, err := r.ReadRecord(); !errors.Is(err, io.EOF) {
		t.Fatalf("at the end: %v, want EOF", err)
	}
}

func TestFrameMatchesWriter(t *testing.T) {
	var b bytes.Buffer
	_ = NewWriter(&b).WriteRecord([]byte("hello"))
	if got := string(Frame([]byte("hello"))); got != b.String() || got != "5\nhello" {
		t.Fatalf("Frame: %q, writer: %q", got, b.String())
	}
}

func TestReaderErrors(t *testing.T) {
	for _, tc := range []struct {
		in, want string
	}{
		{"5\nabc", "unexpected EOF"},
		{"12", "unexpected EOF"},
		{"\nabc", "empty length"},
		{"1x\n", "not a decimal digit"},
		{"99999999\n", "larger than the limit"},
		{"123456789012345678901\n", "larger than the limit"},
	} {
		_, err := NewReader(strings.NewReader(tc.in), 1<<20).ReadRecord()
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: got %v, want an error containing %q", tc.in, err, tc.want)
		}
	}
}
