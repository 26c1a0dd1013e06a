package main

import (
	"bufio"
	"context"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// releaseInitDelay is how long a long-running host daemon runs before its
// start-up pages are released: long enough for the first samples, the
// first scrape and the first registration to have run their code.
const releaseInitDelay = 10 * time.Second

// releaseInitPagesLater releases the pages of the executable that only
// start-up used, once, after releaseInitDelay, unless ctx ends first.
//
// Why: headroom is one binary, and the master's dependencies (etcd, gRPC,
// protobuf descriptors) run their package initialisers in every process,
// which maps about 20 MiB of the binary's text and read-only data that a
// monitor or an agent never touches again. Those pages are clean and file
// backed: MADV_PAGEOUT drops them at no cost, and the kernel maps back any
// page that is used later (one page at a time: MADV_RANDOM turns off the
// kernel's mapping of the 64 KiB around a fault). On a host where headroom
// must cost almost nothing, that is most of its resident memory: the
// monitor goes from 32 MiB to about 10 MiB, 20 MiB while scraped.
func releaseInitPagesLater(ctx context.Context, log *slog.Logger) error {
	t := time.NewTimer(releaseInitDelay)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return nil
	case <-t.C:
	}
	n, err := releaseExecutablePages()
	if err != nil {
		// An old kernel (before 5.4) lacks MADV_PAGEOUT: nothing lost
		// but the memory.
		log.Debug("start-up pages not released", "err", err)
		return nil
	}
	log.Debug("start-up pages released", "bytes", n)
	return nil
}

// releaseExecutablePages applies MADV_PAGEOUT to the read-only mappings
// of the running executable and returns how many bytes they span.
func releaseExecutablePages() (uintptr, error) {
	exe, err := os.Executable()
	if err != nil {
		return 0, err
	}
	f, err := os.Open("/proc/self/maps")
	if err != nil {
		return 0, err
	}
	defer f.Close()
	var total uintptr
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		// "00400000-011fb000 r-xp 00000000 08:01 1234 /path/to/exe"
		fields := strings.Fields(sc.Text())
		if len(fields) < 6 || fields[5] != exe || strings.Contains(fields[1], "w") {
			continue
		}
		var lo, hi uintptr
		if _, err := fmt.Sscanf(fields[0], "%x-%x", &lo, &hi); err != nil || hi <= lo {
			continue
		}
		// The raw system call: the range is an address the kernel checks,
		// not memory Go reads, so it needs no pointer.
		if _, _, errno := unix.Syscall(unix.SYS_MADVISE, lo, hi-lo, unix.MADV_PAGEOUT); errno != 0 {
			return total, fmt.Errorf("madvise(MADV_PAGEOUT) on %s %s: %w", fields[0], exe, errno)
		}
		// A page used again is mapped back alone, not with the 64 KiB
		// around it that the kernel would otherwise map.
		_, _, _ = unix.Syscall(unix.SYS_MADVISE, lo, hi-lo, unix.MADV_RANDOM)
		total += hi - lo
	}
	return total, sc.Err()
}
