package monitor

import (
	"fmt"
	"os"

	"github.com/headroom-dev/headroom/monitor/estimate"
)

// LoadPolicy reads and parses a policy file.
func LoadPolicy(path string) (estimate.Policy, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return estimate.Policy{}, fmt.Errorf("policy: %w", err)
	}
	p, err := estimate.ParsePolicy(data)
	if err != nil {
		return estimate.Policy{}, fmt.Errorf("policy %s: %w", path, err)
	}
	return p, nil
}
