// Package cgroup is headroom's thin layer over the Linux cgroup
// filesystem. headroom harvests idle CPU and memory on a host for batch
// work; every batch task runs inside a cgroup so that the agent can cap it
// (CPU shares and CFS quota, memory and pids limits), measure it, and kill
// it as a unit when the host's own workload needs the resources back.
//
// Hosts differ: some still run the legacy v1 layout, one mount per
// controller under /sys/fs/cgroup (with cpu and cpuacct sometimes
// co-mounted as "cpu,cpuacct"), others the unified v2 layout. Open detects
// which one it is given and the rest of the API is the same for both, so
// callers never branch on the layout. Config.Root is injectable so tests
// can point the package at fixture trees and so a delegated subtree can be
// used instead of the host root.
//
// Creation, process moves, listing and removal go through
// github.com/containerd/cgroups/v3 (cgroup1 and cgroup2), which handles
// the kernel's quirks (EINVAL retries on freshly forked tasks, EBUSY
// retries on rmdir, enabling v2 controllers in every ancestor). Limits are
// written directly, because headroom's "0 means unlimited" semantics and
// the v1-shares-to-v2-weight conversion do not map onto the library's
// types, and because an error must name the file and value the kernel
// refused.
//
// The sampling path is read directly too: the agent calls CPUUsage every
// 200 ms and MemoryWorkingSet every second for every group, so those read
// one or two small files with raw syscalls into stack buffers and do not
// allocate, instead of the library's Stat, which reads every controller
// file into protobuf messages. The file parsers are pure functions over
// bytes (stats.go) so they can be tested against fixtures in testdata/.
//
// StartInGroup exists because starting a process and then moving it into
// a group leaves a window in which it can fork children that stay outside;
// it holds the process in a shell shim until the move is done.
package cgroup
