package allocator

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cockroachdb/datadriven"
	"github.com/docker/go-units"

	"github.com/headroom-dev/headroom/internal/resources"
)

// epoch is the time t=0s of the scenario scripts.
func epoch() time.Time { return time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC) }

// TestScenarios runs the scripts under testdata. Commands:
//
//	new [offer-timeout=D] [refuse=D] [prefix=P]
//	add-agent id=A [host=H] [rev=R] [ded=R] [attrs=(k=v, ...)]
//	update-agent id=A [rev=R] [ded=R]
//	remove-agent id=A
//	set-attributes id=A attrs=(k=v, ...)
//	add-framework id=F [role=ROLE] [weight=W] [revocable] [suppressed]
//	remove-framework id=F
//	set-role name=ROLE [weight=W] [guarantee=R] [limit=R]
//	suppress fw=F | revive fw=F
//	allocate t=D
//	accept offer=O [rev=R] [ded=R] [refuse=D] t=D
//	decline offer=O [refuse=D] t=D
//	recover agent=A fw=F pool=P res=R
//	add-used agent=A fw=F pool=P res=R
//	shares | totals | offers | agent id=A | filtered fw=F agent=A t=D
//
// R is cores/memory[/disk], e.g. 4/8GiB; D is a duration since the epoch.
// The invariants are checked after every command.
func TestScenarios(t *testing.T) {
	datadriven.Walk(t, "testdata", func(t *testing.T, path string) {
		s := &scenario{}
		datadriven.RunTest(t, path, func(t *testing.T, td *datadriven.TestData) string {
			out, err := s.run(td)
			if err != nil {
				out = fmt.Sprintf("error: %v\n", err)
			}
			if s.a != nil {
				if err := checkInvariants(s.a); err != nil {
					t.Errorf("%s: invariant broken after %s: %v", td.Pos, td.Cmd, err)
				}
			}
			if out == "" {
				out = "ok\n"
			}
			return out
		})
	})
}

type scenario struct {
	a *Allocator
}

// args gives typed access to a command's key=value arguments.
type args struct {
	td *datadriven.TestData
}

func (g args) str(key string) (string, bool) {
	arg, ok := g.td.Arg(key)
	if !ok || len(arg.Vals) == 0 {
		return "", false
	}
	return arg.Vals[0], true
}

func (g args) need(key string) (string, error) {
	v, ok := g.str(key)
	if !ok {
		return "", fmt.Errorf("%s: argument missing", key)
	}
	return v, nil
}

func (g args) res(key string) (resources.Resources, error) {
	v, ok := g.str(key)
	if !ok {
		return resources.Resources{}, nil
	}
	return parseRes(v)
}

func (g args) dur(key string) (time.Duration, bool, error) {
	v, ok := g.str(key)
	if !ok {
		return 0, false, nil
	}
	d, err := time.ParseDuration(v)
	if err != nil {
		return 0, false, fmt.Errorf("%s: %w", key, err)
	}
	return d, true, nil
}

func (g args) at() (time.Time, error) {
	d, ok, err := g.dur("t")
	if err != nil {
		return time.Time{}, err
	}
	if !ok {
		return time.Time{}, fmt.Errorf("t: argument missing")
	}
	return epoch().Add(d), nil
}

func (g args) refuse() (time.Duration, error) {
	d, ok, err := g.dur("refuse")
	if !ok {
		return RefuseDefault, err
	}
	return d, err
}

func (g args) attrs() map[string]string {
	arg, ok := g.td.Arg("attrs")
	if !ok {
		return nil
	}
	m := make(map[string]string)
	for _, kv := range arg.Vals {
		k, v, _ := strings.Cut(kv, "=")
		m[k] = v
	}
	return m
}

// parseRes reads cores/memory[/disk]; "0" is nothing.
func parseRes(s string) (resources.Resources, error) {
	var r resources.Resources
	if s == "0" {
		return r, nil
	}
	f := strings.Split(s, "/")
	if len(f) < 2 || len(f) > 3 {
		return r, fmt.Errorf("resources %q: want cores/memory[/disk]", s)
	}
	cpus, err := strconv.ParseFloat(f[0], 64)
	if err != nil {
		return r, fmt.Errorf("resources %q: cores: %w", s, err)
	}
	r.CPUs = cpus
	if r.MemBytes, err = units.RAMInBytes(f[1]); err != nil {
		return r, fmt.Errorf("resources %q: memory: %w", s, err)
	}
	if len(f) == 3 {
		if r.Disk, err = units.RAMInBytes(f[2]); err != nil {
			return r, fmt.Errorf("resources %q: disk: %w", s, err)
		}
	}
	return r, nil
}

func fmtRes(r resources.Resources) string {
	if r.IsZero() {
		return "0"
	}
	s := strconv.FormatFloat(math.Round(r.CPUs*1000)/1000, 'f', -1, 64) + "/" + units.BytesSize(float64(r.MemBytes))
	if r.Disk != 0 {
		s += "/" + units.BytesSize(float64(r.Disk))
	}
	return s
}

func fmtPools(b ByPool) string {
	var parts []string
	for p, r := range b {
		if !r.IsZero() {
			parts = append(parts, fmt.Sprintf("%s=%s", poolAbbrev(Pool(p)), fmtRes(r)))
		}
	}
	if len(parts) == 0 {
		return "nothing"
	}
	return strings.Join(parts, " ")
}

func poolAbbrev(p Pool) string {
	if p == Revocable {
		return "rev"
	}
	return "ded"
}

func fmtOffer(o Offer) string {
	return fmt.Sprintf("offer %s %s@%s %s expires=%s\n", o.ID, o.FrameworkID, o.AgentID, fmtPools(o.Resources), o.Expires.Sub(epoch()))
}

func fmtRescinds(rs []Rescind) string {
	var b strings.Builder
	for _, r := range rs {
		fmt.Fprintf(&b, "rescind %s %s@%s %s\n", r.OfferID, r.FrameworkID, r.AgentID, r.Reason)
	}
	return b.String()
}

func (s *scenario) run(td *datadriven.TestData) (string, error) {
	g := args{td}
	if s.a == nil && td.Cmd != "new" {
		a, err := New(Config{})
		if err != nil {
			return "", err
		}
		s.a = a
	}
	a := s.a
	switch td.Cmd {
	case "new":
		var cfg Config
		var err error
		if cfg.OfferTimeout, _, err = g.dur("offer-timeout"); err != nil {
			return "", err
		}
		if cfg.DefaultRefuse, _, err = g.dur("refuse"); err != nil {
			return "", err
		}
		cfg.OfferIDPrefix, _ = g.str("prefix")
		na, err := New(cfg)
		if err != nil {
			return "", err
		}
		s.a = na
		return "", nil

	case "add-agent":
		id, _ := g.str("id")
		host, _ := g.str("host")
		rev, err := g.res("rev")
		if err != nil {
			return "", err
		}
		ded, err := g.res("ded")
		if err != nil {
			return "", err
		}
		return "", a.AddAgent(Agent{ID: id, Hostname: host, Attributes: g.attrs(), Revocable: rev, Dedicated: ded})

	case "update-agent":
		id, _ := g.str("id")
		rev, err := g.res("rev")
		if err != nil {
			return "", err
		}
		ded, err := g.res("ded")
		if err != nil {
			return "", err
		}
		rs, err := a.UpdateAgent(id, rev, ded)
		return fmtRescinds(rs), err

	case "remove-agent":
		id, _ := g.str("id")
		rs, err := a.RemoveAgent(id)
		return fmtRescinds(rs), err

	case "set-attributes":
		id, _ := g.str("id")
		return "", a.SetAttributes(id, g.attrs())

	case "add-framework":
		fw := Framework{Revocable: td.HasArg("revocable"), Suppressed: td.HasArg("suppressed")}
		fw.ID, _ = g.str("id")
		fw.Role, _ = g.str("role")
		if w, ok := g.str("weight"); ok {
			var err error
			if fw.Weight, err = strconv.ParseFloat(w, 64); err != nil {
				return "", fmt.Errorf("weight: %w", err)
			}
		}
		return "", a.AddFramework(fw)

	case "remove-framework":
		id, _ := g.str("id")
		rs, err := a.RemoveFramework(id)
		return fmtRescinds(rs), err

	case "set-role":
		name, _ := g.str("name")
		var w float64
		if v, ok := g.str("weight"); ok {
			var err error
			if w, err = strconv.ParseFloat(v, 64); err != nil {
				return "", fmt.Errorf("weight: %w", err)
			}
		}
		var q Quota
		var err error
		if q.Guarantee, err = g.res("guarantee"); err != nil {
			return "", err
		}
		if q.Limit, err = g.res("limit"); err != nil {
			return "", err
		}
		return "", a.SetRole(name, w, q)

	case "suppress", "revive":
		id, err := g.need("fw")
		if err != nil {
			return "", err
		}
		if td.Cmd == "suppress" {
			return "", a.Suppress(id)
		}
		return "", a.Revive(id)

	case "allocate":
		now, err := g.at()
		if err != nil {
			return "", err
		}
		res := a.Allocate(now)
		var b strings.Builder
		b.WriteString(fmtRescinds(res.Rescinds))
		for _, o := range res.Offers {
			b.WriteString(fmtOffer(o))
		}
		if b.Len() == 0 {
			return "no offers\n", nil
		}
		return b.String(), nil

	case "accept":
		id, err := g.need("offer")
		if err != nil {
			return "", err
		}
		var used ByPool
		if used[Revocable], err = g.res("rev"); err != nil {
			return "", err
		}
		if used[Dedicated], err = g.res("ded"); err != nil {
			return "", err
		}
		refuse, err := g.refuse()
		if err != nil {
			return "", err
		}
		now, err := g.at()
		if err != nil {
			return "", err
		}
		_, err = a.Accept(id, used, refuse, now)
		return "", err

	case "decline":
		id, err := g.need("offer")
		if err != nil {
			return "", err
		}
		refuse, err := g.refuse()
		if err != nil {
			return "", err
		}
		now, err := g.at()
		if err != nil {
			return "", err
		}
		return "", a.Decline(id, refuse, now)

	case "recover", "add-used":
		agent, _ := g.str("agent")
		fw, _ := g.str("fw")
		ps, err := g.need("pool")
		if err != nil {
			return "", err
		}
		pool, err := ParsePool(ps)
		if err != nil {
			return "", err
		}
		r, err := g.res("res")
		if err != nil {
			return "", err
		}
		if td.Cmd == "recover" {
			return "", a.RecoverResources(agent, fw, pool, r)
		}
		rs, err := a.AddUsed(agent, fw, pool, r)
		return fmtRescinds(rs), err

	case "shares":
		var b strings.Builder
		for _, sh := range a.Shares() {
			if sh.Framework == "" {
				fmt.Fprintf(&b, "role %s weight=%g share=%.4g held: %s", sh.Role, sh.Weight, sh.DominantShare, fmtPools(sh.Allocated))
				if sh.BelowGuarantee {
					b.WriteString(" below-guarantee")
				}
			} else {
				fmt.Fprintf(&b, "  fw %s weight=%g share=%.4g held: %s", sh.Framework, sh.Weight, sh.DominantShare, fmtPools(sh.Allocated))
				if sh.Suppressed {
					b.WriteString(" suppressed")
				}
			}
			b.WriteString("\n")
		}
		return b.String(), nil

	case "totals":
		var b strings.Builder
		for p, u := range a.Totals() {
			fmt.Fprintf(&b, "%s total=%s offered=%s used=%s\n", Pool(p), fmtRes(u.Total), fmtRes(u.Offered), fmtRes(u.Used))
		}
		return b.String(), nil

	case "offers":
		var b strings.Builder
		for _, o := range a.Offers() {
			b.WriteString(fmtOffer(o))
		}
		if b.Len() == 0 {
			return "no offers\n", nil
		}
		return b.String(), nil

	case "agent":
		id, _ := g.str("id")
		v, ok := a.Agent(id)
		if !ok {
			return "", fmt.Errorf("agent %q: %w", id, ErrUnknownAgent)
		}
		var keys []string
		for k, val := range v.Attributes {
			keys = append(keys, k+"="+val)
		}
		slices.Sort(keys)
		return fmt.Sprintf("agent %s host=%s attrs=[%s] total: %s used: %s offered: %s offers=%d\n",
			v.ID, v.Hostname, strings.Join(keys, " "), fmtPools(v.totals()), fmtPools(v.Used), fmtPools(v.Offered), v.Offers), nil

	case "filtered":
		fw, _ := g.str("fw")
		agent, _ := g.str("agent")
		now, err := g.at()
		if err != nil {
			return "", err
		}
		until, ok := a.Filtered(fw, agent, now)
		if !ok {
			return "not filtered\n", nil
		}
		return fmt.Sprintf("filtered until %s\n", until.Sub(epoch())), nil
	}
	return "", fmt.Errorf("unknown command %q", td.Cmd)
}
