package allocator

import (
	"testing"
	"time"
)

func mustAllocator(t *testing.T) *Allocator {
	t.Helper()
	a, err := New(Config{DefaultRefuse: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func TestWhyNoOffers(t *testing.T) {
	t0 := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		name  string
		setup func(t *testing.T, a *Allocator)
		want  string
	}{
		{
			name: "no agent",
			want: "no agent registered",
		},
		{
			name: "harvest 0",
			setup: func(t *testing.T, a *Allocator) {
				mustAdd(t, a.AddAgent(Agent{ID: "a1"}))
			},
			want: "no agent has free revocable capacity (harvest 0) or dedicated capacity",
		},
		{
			name: "suppressed",
			setup: func(t *testing.T, a *Allocator) {
				mustAdd(t, a.AddAgent(Agent{ID: "a1", Revocable: res(4, 4)}))
				mustAdd(t, a.Suppress("f1"))
			},
			want: "suppressed: the framework asked for no offers (REVIVE asks again)",
		},
		{
			name: "declined all offers",
			setup: func(t *testing.T, a *Allocator) {
				mustAdd(t, a.AddAgent(Agent{ID: "a1", Revocable: res(4, 4)}))
				res := a.Allocate(t0)
				if len(res.Offers) != 1 {
					t.Fatalf("offers %d, want 1", len(res.Offers))
				}
				mustAdd(t, a.Decline(res.Offers[0].ID, RefuseDefault, t0))
			},
			want: "declined all offers: filtered on 1 agents until 2030-01-01T00:00:05Z",
		},
		{
			name: "role at its limit",
			setup: func(t *testing.T, a *Allocator) {
				mustAdd(t, a.AddAgent(Agent{ID: "a1", Revocable: res(4, 4)}))
				mustAdd(t, a.SetRole("batch", 1, Quota{Limit: res(1, 0)}))
				if _, err := a.AddUsed("a1", "f1", Revocable, res(1, 1)); err != nil {
					t.Fatal(err)
				}
			},
			want: "role batch is at its quota limit",
		},
		{
			name: "everything used elsewhere",
			setup: func(t *testing.T, a *Allocator) {
				mustAdd(t, a.AddAgent(Agent{ID: "a1", Revocable: res(4, 4)}))
				if _, err := a.AddUsed("a1", "other", Revocable, res(4, 4)); err != nil {
					t.Fatal(err)
				}
			},
			want: "no free capacity: what the agents have is used or offered to other frameworks",
		},
		{
			name: "an offer comes next cycle",
			setup: func(t *testing.T, a *Allocator) {
				mustAdd(t, a.AddAgent(Agent{ID: "a1", Revocable: res(4, 4)}))
			},
			want: "",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := mustAllocator(t)
			mustAdd(t, a.AddFramework(Framework{ID: "f1", Role: "batch", Revocable: true}))
			if tt.setup != nil {
				tt.setup(t, a)
			}
			if got := a.WhyNoOffers("f1", t0); got != tt.want {
				t.Fatalf("WhyNoOffers = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestWhyNoOffersDedicatedOnly(t *testing.T) {
	a := mustAllocator(t)
	mustAdd(t, a.AddFramework(Framework{ID: "f1"}))
	mustAdd(t, a.AddAgent(Agent{ID: "a1", Revocable: res(4, 4)}))
	want := "no agent has dedicated capacity, and the framework does not accept revocable resources"
	if got := a.WhyNoOffers("f1", time.Time{}); got != want {
		t.Fatalf("WhyNoOffers = %q, want %q", got, want)
	}
}

func mustAdd(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
