package framework

import "testing"

func ag(host string, kv ...string) Agent {
	a := Agent{ID: "id-" + host, Hostname: host, Attributes: map[string]string{}}
	for i := 0; i+1 < len(kv); i += 2 {
		a.Attributes[kv[i]] = kv[i+1]
	}
	return a
}

func TestConstraints(t *testing.T) {
	h1r1, h2r1, h3r2, h4r3 := ag("h1", "rack", "r1"), ag("h2", "rack", "r1"), ag("h3", "rack", "r2"), ag("h4", "rack", "r3")
	bare := ag("h5")
	known := []Agent{h1r1, h2r1, h3r2, bare}
	tests := []struct {
		name   string
		c      []string
		cand   Agent
		placed []Agent
		known  []Agent
		want   bool
	}{
		{"unique host free", []string{"hostname", "UNIQUE"}, h1r1, []Agent{h2r1}, known, true},
		{"unique host taken", []string{"hostname", "UNIQUE"}, h1r1, []Agent{h1r1}, known, false},
		{"unique attr taken", []string{"rack", "UNIQUE"}, h2r1, []Agent{h1r1}, known, false},
		{"unique attr missing", []string{"rack", "UNIQUE"}, bare, nil, known, false},

		{"cluster value match", []string{"rack", "CLUSTER", "r1"}, h1r1, nil, known, true},
		{"cluster value mismatch", []string{"rack", "CLUSTER", "r1"}, h3r2, nil, known, false},
		{"cluster empty first", []string{"rack", "CLUSTER"}, h3r2, nil, known, true},
		{"cluster empty follows first", []string{"rack", "CLUSTER"}, h2r1, []Agent{h1r1}, known, true},
		{"cluster empty other", []string{"rack", "CLUSTER"}, h3r2, []Agent{h1r1}, known, false},
		{"cluster missing", []string{"rack", "CLUSTER", "r1"}, bare, nil, known, false},

		{"group_by empty group first", []string{"rack", "GROUP_BY"}, h1r1, []Agent{h3r2}, known, true},
		{"group_by fuller group", []string{"rack", "GROUP_BY"}, h3r2, []Agent{h3r2}, known, false},
		{"group_by balanced", []string{"rack", "GROUP_BY"}, h3r2, []Agent{h3r2, h1r1}, known, true},
		{"group_by waits for unseen groups", []string{"rack", "GROUP_BY", "3"}, h1r1, []Agent{h1r1, h3r2}, known, false},
		{"group_by all groups seen", []string{"rack", "GROUP_BY", "3"}, h1r1, []Agent{h1r1, h3r2}, append(known, h4r3), false},
		{"group_by third group", []string{"rack", "GROUP_BY", "3"}, h4r3, []Agent{h1r1, h3r2}, known, true},
		{"group_by missing", []string{"rack", "GROUP_BY"}, bare, nil, known, false},

		{"like match", []string{"rack", "LIKE", "r[12]"}, h3r2, nil, known, true},
		{"like is anchored", []string{"rack", "LIKE", "r"}, h1r1, nil, known, false},
		{"like no match", []string{"rack", "LIKE", "r[23]"}, h1r1, nil, known, false},
		{"like missing", []string{"rack", "LIKE", ".*"}, bare, nil, known, false},
		{"like hostname", []string{"hostname", "LIKE", "h[0-9]"}, h1r1, nil, known, true},

		{"unlike match", []string{"rack", "UNLIKE", "r1"}, h1r1, nil, known, false},
		{"unlike no match", []string{"rack", "UNLIKE", "r1"}, h3r2, nil, known, true},
		{"unlike missing", []string{"rack", "UNLIKE", "r1"}, bare, nil, known, true},

		{"max_per under", []string{"rack", "MAX_PER", "2"}, h2r1, []Agent{h1r1}, known, true},
		{"max_per at", []string{"rack", "MAX_PER", "2"}, h2r1, []Agent{h1r1, h1r1}, known, false},
		{"max_per missing", []string{"rack", "MAX_PER", "2"}, bare, nil, known, false},

		{"is equal", []string{"rack", "IS", "r2"}, h3r2, nil, known, true},
		{"is different", []string{"rack", "IS", "r2"}, h1r1, nil, known, false},
		{"is missing", []string{"rack", "IS", "r2"}, bare, nil, known, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cs, err := ParseConstraints([][]string{tt.c})
			if err != nil {
				t.Fatal(err)
			}
			if got := cs[0].Allows(tt.cand, tt.placed, tt.known); got != tt.want {
				t.Fatalf("%v on %s with placed %v = %v, want %v", tt.c, tt.cand.Hostname, tt.placed, got, tt.want)
			}
		})
	}
}
