// Package internal holds small helpers shared by the components: the
// resource vector (resources), the cgroup wrapper (cgroup) and test helpers
// (testutil), the data/work dir lock (dirlock). Nothing here is part of headroom's public API.
package internal
