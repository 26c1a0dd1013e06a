package master

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/headroom-dev/headroom/api/scheduler"
	"github.com/headroom-dev/headroom/internal/resources"
	"github.com/headroom-dev/headroom/internal/testutil"
)

// TestUpdateFramework: UPDATE_FRAMEWORK changes a subscribed framework's
// info in place (same id, same stream), a new revocability included; an
// info of another framework is refused. Offers name the framework's role
// in allocation_info.
func TestUpdateFramework(t *testing.T) {
	tm := startLeader(t)
	base := tm.url
	startSimAgent(t, base, "h1", resources.Resources{CPUs: 2, MemBytes: 2 * gib}, nil, 0, 100*time.Millisecond)
	f := subscribeFramework(t, base, scheduler.FrameworkInfo{Name: "before", Capabilities: []scheduler.Capability{{Type: scheduler.CapabilityRevocable}}})
	fid := f.sess.FrameworkID
	o := f.nextOffer(10 * time.Second)
	if o.AllocationInfo == nil || o.AllocationInfo.Role != "*" || o.Resources[0].AllocationInfo == nil || o.Resources[0].Role != "*" {
		t.Fatalf("offer without its allocation: %+v", o)
	}

	call := `{"type":"UPDATE_FRAMEWORK","framework_id":{"value":"` + fid + `"},"update_framework":{"framework_info":{
		"id":{"value":"` + fid + `"},"name":"after","failover_timeout":600}}}`
	if code, body := postCall(t, base, f.sess.StreamID, call); code != http.StatusAccepted {
		t.Fatalf("UPDATE_FRAMEWORK: %d %s", code, body)
	}
	testutil.Eventually(t, 10*time.Second, 20*time.Millisecond, func() bool {
		var fws []FrameworkView
		getJSON(t, base+"/api/v1/frameworks", &fws)
		return len(fws) == 1 && fws[0].ID == fid && fws[0].Name == "after" && !fws[0].Revocable && fws[0].Connected
	}, "the framework updated in place")

	other := strings.Replace(call, `"id":{"value":"`+fid+`"}`, `"id":{"value":"someone-else"}`, 1)
	if code, body := postCall(t, base, f.sess.StreamID, other); code != http.StatusBadRequest || !strings.Contains(string(body), "framework_info.id") {
		t.Fatalf("UPDATE_FRAMEWORK of another id: %d %s", code, body)
	}
	if code, body := postCall(t, base, f.sess.StreamID, `{"type":"UPDATE_FRAMEWORK","framework_id":{"value":"`+fid+`"}}`); code != http.StatusBadRequest || !strings.Contains(string(body), "update_framework") {
		t.Fatalf("UPDATE_FRAMEWORK without its member: %d %s", code, body)
	}
}
