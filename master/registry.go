package master

import (
	"crypto/rand"
	"encoding/hex"
	"maps"
	"slices"

	"github.com/headroom-dev/headroom/master/core"
)

// The registry (agents, tasks, frameworks' bookkeeping) lives in
// master/core; these are its types as the master's API has always named
// them.

// AgentState is where an agent is in its life with this master.
type AgentState = core.AgentState

// Agent states (see core.AgentState).
const (
	AgentActive      = core.AgentActive
	AgentUnreachable = core.AgentUnreachable
	AgentRecovering  = core.AgentRecovering
)

// AgentView is an agent as the API shows it.
type AgentView = core.AgentView

// TaskView is a task as the API shows it.
type TaskView = core.TaskView

// FrameworkView is a framework as the operator API shows it.
type FrameworkView = core.FrameworkView

// agentRecord and frameworkRecord are what the store keeps.
type (
	agentRecord     = core.AgentRecord
	frameworkRecord = core.FrameworkRecord
)

func sortedKeys[V any](m map[string]V) []string {
	keys := slices.Collect(maps.Keys(m))
	slices.Sort(keys)
	return keys
}

// randomSuffix is a task id suffix: 8 random bytes in hex.
func randomSuffix() string { return randomHex(8) }

// randomHex is n random bytes in hex.
func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
