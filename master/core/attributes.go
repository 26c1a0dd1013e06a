package core

import "maps"

// Dynamic attributes. An agent brings its own (static) attributes; the
// operator adds dynamic ones per hostname (kept in the store by the
// master, which steps SetDynamic on every change, its own or one made in
// the store directly). The effective attributes are the static ones
// overlaid by the dynamic ones; they go to the allocator, to the built-in
// frameworks (an app instance whose constraint no longer holds is moved)
// and back to the agent on its next heartbeat. Nothing restarts.

// effective overlays dynamic on static.
func effective(static, dynamic map[string]string) map[string]string {
	out := maps.Clone(static)
	if out == nil {
		out = map[string]string{}
	}
	maps.Copy(out, dynamic)
	return out
}

// refreshAttributes recomputes an agent's effective attributes and, when
// they changed, tells the allocator and the built-in frameworks (which
// may move instances) and marks them for the agent's next heartbeat.
func (c *Core) refreshAttributes(ag *agent) {
	eff := effective(ag.Static, c.dynamic[ag.Hostname])
	if maps.Equal(eff, ag.Attributes) {
		return
	}
	ag.Attributes = eff
	ag.pushAttrs = true
	if ag.inAllocator {
		if err := c.alloc.SetAttributes(ag.ID, eff); err != nil {
			c.log.Error("updating agent attributes in the allocator", "agent", ag.ID, "err", err)
		}
	}
	for _, id := range c.fws.AttributesChanged(ag.ID, ag.Hostname, eff) {
		c.log.Info("moving an instance whose constraint no longer holds", "task", id, "agent", ag.ID)
		c.kill(id, ag.ID, "constraint_violated")
	}
	for _, t := range c.tasks {
		if t.AgentID == ag.ID {
			t.Hostname = ag.Hostname
		}
	}
}

// setDynamic installs a hostname's dynamic attributes (nil removes them).
func (c *Core) setDynamic(hostname string, attrs map[string]string) {
	if len(attrs) == 0 {
		delete(c.dynamic, hostname)
	} else {
		c.dynamic[hostname] = maps.Clone(attrs)
	}
	for _, id := range sortedKeys(c.agents) {
		if ag := c.agents[id]; ag.Hostname == hostname {
			c.refreshAttributes(ag)
		}
	}
}

// DynamicHosts lists the hostnames with dynamic attributes.
func (c *Core) DynamicHosts() []string { return sortedKeys(c.dynamic) }
