package master

import (
	"maps"
	"slices"

	"github.com/headroom-dev/headroom/master/core"
)

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
