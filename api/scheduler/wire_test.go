package scheduler

import (
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/headroom-dev/headroom/api"
)

// TestDecodeCallTolerant: what mesos-go's JSON codec sends (nulls for
// unset maps, fields headroom has no use for) decodes, each left-out
// part reported; wrong types still fail naming the field.
func TestDecodeCallTolerant(t *testing.T) {
	in := `{"type":"SUBSCRIBE","subscribe":{"framework_info":{"user":"u","name":"fw",
		"offer_filters":null,"roles":["batch"],"capabilities":[{"type":"MULTI_ROLE"}],
		"domain":{"fault_domain":{}}},"suppressed_roles":null}}`
	var ignored []string
	c, err := DecodeCall(strings.NewReader(in), 1<<20, func(i api.Ignored) { ignored = append(ignored, i.String()) })
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	if c.Subscribe.FrameworkInfo.Name != "fw" || c.Subscribe.FrameworkInfo.RoleName() != "batch" {
		t.Fatalf("decoded %+v", c.Subscribe.FrameworkInfo)
	}
	want := "subscribe.framework_info.domain: unknown field,subscribe.framework_info.offer_filters: unknown field,subscribe.suppressed_roles: null"
	if got := strings.Join(ignored, ","); got != want {
		t.Fatalf("ignored %s\nwant    %s", got, want)
	}
	for in, want := range map[string]string{
		`{"type":"SUBSCRIBE","subscribe":{"framework_info":{"name":7}}}`:                      `field "subscribe.framework_info.name": got a number, want a string`,
		`{"type":"DECLINE","framework_id":{"value":"f"},"decline":{"offer_ids":"o1"}}`:        `field "decline.offer_ids": got a string, want an array`,
		`{"type":"KILL","framework_id":{"value":"f"},"kill":{"task_id":{"value":"t"}}} trail`: "trailing data",
	} {
		if _, err := DecodeCall(strings.NewReader(in), 1<<20, nil); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: got %v, want %q", in, err, want)
		}
	}
}

func TestNegotiateStream(t *testing.T) {
	for _, tc := range []struct {
		accept, msg string
		framing     Framing
		ct, mct     string
	}{
		{"", "", FramingRecordIO, MediaJSON, ""},
		{"application/json", "", FramingRecordIO, MediaJSON, ""},
		{"*/*", "", FramingRecordIO, MediaJSON, ""},
		{"application/recordio", "application/json", FramingRecordIO, MediaRecordIO, MediaJSON},
		{"application/x-ndjson", "", FramingNDJSON, MediaNDJSON, ""},
		{"application/x-protobuf;q=0, application/json", "", FramingRecordIO, MediaJSON, ""},
	} {
		s, err := NegotiateStream(tc.accept, tc.msg)
		if err != nil || s.Framing != tc.framing || s.ContentType != tc.ct || s.MessageContentType != tc.mct {
			t.Errorf("Accept %q, Message-Accept %q: got %+v, %v", tc.accept, tc.msg, s, err)
		}
	}
	for _, bad := range [][2]string{{"application/x-protobuf", ""}, {"application/recordio", "application/x-protobuf"}} {
		if _, err := NegotiateStream(bad[0], bad[1]); !errors.Is(err, ErrNotAcceptable) {
			t.Errorf("Accept %q, Message-Accept %q: got %v, want ErrNotAcceptable", bad[0], bad[1], err)
		}
	}
	if got := string(FramingRecordIO.Frame([]byte(`{"type":"HEARTBEAT"}`))); got != "20\n{\"type\":\"HEARTBEAT\"}" {
		t.Errorf("RecordIO frame: %q", got)
	}
	if got := string(FramingNDJSON.Frame([]byte(`{}`))); got != "{}\n" {
		t.Errorf("NDJSON frame: %q", got)
	}
	// Queued events are lines; the newline is not part of a record.
	s, _ := NegotiateStream("application/recordio", "application/json")
	if got := string(s.Frame([]byte("{}\n"))); got != "2\n{}" {
		t.Errorf("stream frame: %q", got)
	}
	h := http.Header{}
	s.SetHeaders(h)
	if h.Get("Content-Type") != MediaRecordIO || h.Get(MessageContentTypeHeader) != MediaJSON {
		t.Errorf("headers %v", h)
	}
	nd, _ := NegotiateStream("application/x-ndjson", "")
	if got := string(nd.Frame([]byte("{}\n"))); got != "{}\n" {
		t.Errorf("ndjson stream frame: %q", got)
	}
}

func TestCheckContentType(t *testing.T) {
	for _, ok := range []string{"", "application/json", "application/json; charset=utf-8"} {
		if err := CheckContentType(ok); err != nil {
			t.Errorf("%q: %v", ok, err)
		}
	}
	err := CheckContentType("application/x-protobuf")
	if !errors.Is(err, ErrUnsupportedMedia) || !strings.Contains(err.Error(), "JSON only") {
		t.Errorf("protobuf: %v", err)
	}
	if err := CheckContentType("text/plain"); !errors.Is(err, ErrUnsupportedMedia) {
		t.Errorf("text/plain: %v", err)
	}
}

func TestUUIDRoundTrip(t *testing.T) {
	for _, text := range []string{"0123456789abcdef0123456789abcdef", "6ba7b810-9dad-11d1-80b4-00c04fd430c8", "not-a-uuid"} {
		wire := EncodeUUID(text)
		if wire == text {
			t.Fatalf("%q: wire form is the text", text)
		}
		// A Mesos client echoes the bytes; headroom's older client the text.
		for _, ack := range []string{wire, strings.TrimRight(wire, "=")} {
			got, err := CanonicalUUID(ack)
			if err != nil || got != wire {
				t.Errorf("%q: ack %q canonical %q, %v; want %q", text, ack, got, err, wire)
			}
		}
		if text != "not-a-uuid" {
			if got, err := CanonicalUUID(text); err != nil || got != wire {
				t.Errorf("textual ack %q: %q, %v; want %q", text, got, err, wire)
			}
		}
	}
	if len(EncodeUUID("0123456789abcdef0123456789abcdef")) != 24 {
		t.Error("a hex uuid is not 16 bytes on the wire")
	}
	if got, err := CanonicalUUID("%%%"); err != nil || got == EncodeUUID("0123456789abcdef0123456789abcdef") {
		t.Errorf("garbage uuid: %q %v", got, err)
	}
	if _, err := CanonicalUUID(""); err == nil {
		t.Error("empty uuid accepted")
	}
}

func TestMesosReasons(t *testing.T) {
	for _, tc := range []struct{ state, reason, want string }{
		{TaskRunning, api.ReasonStarted, ""},
		{TaskStaging, api.ReasonLaunched, ""},
		{TaskFinished, api.ReasonExited, ""},
		{TaskFailed, api.ReasonExited, "REASON_COMMAND_EXECUTOR_FAILED"},
		{TaskFailed, api.ReasonOOMKilled, "REASON_CONTAINER_LIMITATION_MEMORY"},
		{TaskKilled, api.ReasonPreemptedCPU, "REASON_CONTAINER_PREEMPTED"},
		{TaskKilled, api.ReasonKilledByRequest, ""},
		{TaskUnreachable, api.ReasonAgentUnreachable, "REASON_AGENT_REMOVED"},
		{TaskRunning, api.ReasonReconciliation, "REASON_RECONCILIATION"},
		{TaskFailed, "something_new", "REASON_COMMAND_EXECUTOR_FAILED"},
		{TaskLost, "something_new", ""},
	} {
		if got := MesosReason(tc.state, tc.reason); got != tc.want {
			t.Errorf("%s %s: %q, want %q", tc.state, tc.reason, got, tc.want)
		}
	}
	st := TaskStatus{State: TaskFailed, Reason: "REASON_OOM_KILLED", UUID: "0123456789abcdef0123456789abcdef"}.ForMesos(api.ReasonOOMKilled)
	if st.Reason != "REASON_CONTAINER_LIMITATION_MEMORY" || st.Labels == nil || st.Labels.Labels[0] != (Label{Key: ReasonLabel, Value: "oom_killed"}) || st.UUID != EncodeUUID("0123456789abcdef0123456789abcdef") {
		t.Fatalf("ForMesos: %+v", st)
	}
}

func TestAllocation(t *testing.T) {
	rs := WithAllocation([]Resource{{Name: ResourceCPUs, Type: TypeScalar, Scalar: &Scalar{Value: 1}}}, "batch")
	if rs[0].Role != "*" || rs[0].AllocationInfo.Role != "batch" {
		t.Fatalf("%+v", rs[0])
	}
	if err := CheckAllocation(rs, "batch"); err != nil {
		t.Fatal(err)
	}
	if err := CheckAllocation(rs, "web"); err == nil || !strings.Contains(err.Error(), "resources[0].allocation_info.role") {
		t.Fatalf("other role: %v", err)
	}
	if err := (TaskInfo{Container: []byte(`{"type":"DOCKER"}`)}).CheckSupported(); err == nil || !strings.HasPrefix(err.Error(), "container:") {
		t.Fatalf("container: %v", err)
	}
}
