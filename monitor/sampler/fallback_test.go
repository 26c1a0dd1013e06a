package sampler

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/headroom-dev/headroom/monitor/estimate"
)

// TestFallbackOnHost runs the gopsutil sampler on the real host: two
// samples of each kind, with sane values.
func TestFallbackOnHost(t *testing.T) {
	f, err := NewFallback()
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if _, err := f.Sample(start); !errors.Is(err, ErrWarmingUp) {
		t.Fatalf("first Sample: err = %v, want ErrWarmingUp", err)
	}
	if _, err := f.SampleFast(start); !errors.Is(err, ErrWarmingUp) {
		t.Fatalf("first SampleFast: err = %v, want ErrWarmingUp", err)
	}
	spin(200 * time.Millisecond)
	now := time.Now()
	full, err := f.Sample(now)
	if err != nil {
		t.Fatal(err)
	}
	fast, err := f.SampleFast(now)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("full: %+v", full)
	t.Logf("fast: %+v", fast)

	for _, s := range []estimate.Sample{full, fast} {
		if !s.Time.Equal(now) {
			t.Errorf("fast=%v: Time = %v, want %v", s.Fast, s.Time, now)
		}
		if s.OnlineCPUs < 1 {
			t.Errorf("fast=%v: OnlineCPUs = %v", s.Fast, s.OnlineCPUs)
		}
		if s.HostCPU < 0 || s.HostCPU > s.OnlineCPUs {
			t.Errorf("fast=%v: HostCPU = %v of %v", s.Fast, s.HostCPU, s.OnlineCPUs)
		}
		if s.BatchCPU != 0 || s.BusinessCPU < 0 || s.BusinessCPU > s.HostCPU {
			t.Errorf("fast=%v: BatchCPU %v BusinessCPU %v", s.Fast, s.BatchCPU, s.BusinessCPU)
		}
	}
	if !fast.Fast || full.Fast {
		t.Errorf("Fast flags: full %v fast %v", full.Fast, fast.Fast)
	}
	// The spin used most of one core for 200 ms.
	if full.SelfCPU <= 0.1 || full.SelfCPU > full.OnlineCPUs {
		t.Errorf("SelfCPU = %v, want a busy core's worth", full.SelfCPU)
	}
	if fast.SelfCPU != full.SelfCPU {
		t.Errorf("fast SelfCPU = %v, want the full one %v", fast.SelfCPU, full.SelfCPU)
	}
	if full.MemTotal == 0 || full.MemAvailable > full.MemTotal || full.SelfMem == 0 || full.BatchMem != 0 {
		t.Errorf("memory: %+v", full)
	}
	if full.BusinessMem > full.MemTotal-full.MemAvailable {
		t.Errorf("BusinessMem %d > used %d", full.BusinessMem, full.MemTotal-full.MemAvailable)
	}
	if full.PSI.Present || full.Services != nil {
		t.Errorf("PSI/services should be absent: %+v", full)
	}
	if fast.MemTotal != 0 {
		t.Errorf("fast sample has memory fields: %+v", fast)
	}
}

func TestReadHostFacts(t *testing.T) {
	hf, err := ReadHostFacts(context.Background())
	t.Logf("%+v (err %v)", hf, err)
	if err != nil {
		// Some containers hide parts of the host; what was read must
		// still be there.
		t.Logf("partial host facts: %v", err)
	}
	if hf.LogicalCPUs < 1 {
		t.Errorf("LogicalCPUs = %d", hf.LogicalCPUs)
	}
	if hf.MemTotal == 0 {
		t.Errorf("MemTotal = 0")
	}
	if hf.OS == "" || hf.Hostname == "" {
		t.Errorf("OS %q Hostname %q", hf.OS, hf.Hostname)
	}
	if hf.BootTime.IsZero() || hf.BootTime.After(time.Now()) {
		t.Errorf("BootTime = %v", hf.BootTime)
	}
}
