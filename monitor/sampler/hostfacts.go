package sampler

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/shirou/gopsutil/v4/cpu"
	"github.com/shirou/gopsutil/v4/host"
	"github.com/shirou/gopsutil/v4/mem"
)

// HostFacts are the static facts about a host, reported once at start-up.
type HostFacts struct {
	Hostname        string
	OS              string
	Platform        string
	PlatformVersion string
	KernelVersion   string
	CPUModel        string
	LogicalCPUs     int
	MemTotal        uint64
	BootTime        time.Time
}

// ReadHostFacts reads the host facts through gopsutil. Each part is read
// independently: on error the facts that could be read are still filled in,
// and the error joins every failure. An empty CPUModel is not an error (some
// architectures do not report one).
func ReadHostFacts(ctx context.Context) (HostFacts, error) {
	var hf HostFacts
	var errs []error
	if info, err := host.InfoWithContext(ctx); err != nil {
		errs = append(errs, fmt.Errorf("host info: %w", err))
	} else {
		hf.Hostname = info.Hostname
		hf.OS = info.OS
		hf.Platform = info.Platform
		hf.PlatformVersion = info.PlatformVersion
		hf.KernelVersion = info.KernelVersion
		if info.BootTime > 0 {
			hf.BootTime = time.Unix(int64(info.BootTime), 0)
		}
	}
	if infos, err := cpu.InfoWithContext(ctx); err != nil {
		errs = append(errs, fmt.Errorf("cpu info: %w", err))
	} else if len(infos) > 0 {
		hf.CPUModel = infos[0].ModelName
	}
	if n, err := cpu.CountsWithContext(ctx, true); err != nil {
		errs = append(errs, fmt.Errorf("cpu count: %w", err))
	} else {
		hf.LogicalCPUs = n
	}
	if vm, err := mem.VirtualMemoryWithContext(ctx); err != nil {
		errs = append(errs, fmt.Errorf("virtual memory: %w", err))
	} else {
		hf.MemTotal = vm.Total
	}
	return hf, errors.Join(errs...)
}
