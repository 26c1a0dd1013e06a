package main

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/headroom-dev/headroom/api"
	"github.com/headroom-dev/headroom/api/agentproto"
)

// The CLI's credential: --token-file, else HEADROOM_TOKEN_FILE, else the
// default operator token when readable, else none; a 401 or 403 names the
// file sent and how to pass another.
func TestCLIFindsItsToken(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	flagFile, envFile, defFile := write("flag.token", "from-flag\n"), write("env.token", "from-env\n"), write("operator.token", "from-default\n")
	env := func(v string) func(string) string {
		return func(k string) string {
			if k == "HEADROOM_TOKEN_FILE" {
				return v
			}
			return ""
		}
	}
	cases := []struct {
		name            string
		flag, env, def  string
		token, from     string
		wantErrContains string
	}{
		{"flag first", flagFile, envFile, defFile, "from-flag", "--token-file", ""},
		{"then the environment", "", envFile, defFile, "from-env", "HEADROOM_TOKEN_FILE", ""},
		{"then the default", "", "", defFile, "from-default", "the default", ""},
		{"none", "", "", filepath.Join(dir, "missing.token"), "", "", ""},
		{"a missing flag file is an error", filepath.Join(dir, "nope"), "", defFile, "", "", "--token-file"},
		{"a missing env file is an error", "", filepath.Join(dir, "nope"), defFile, "", "", "HEADROOM_TOKEN_FILE"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := &cliFlags{tokenFile: c.flag, defaultTokenFile: c.def}
			token, src, err := f.findToken(env(c.env))
			if c.wantErrContains != "" {
				if err == nil || !strings.Contains(err.Error(), c.wantErrContains) {
					t.Fatalf("err %v, want one naming %s", err, c.wantErrContains)
				}
				return
			}
			if err != nil || token != c.token || src.from != c.from {
				t.Fatalf("token %q from %q (%v), want %q from %q", token, src.from, err, c.token, c.from)
			}
		})
	}

	unauthorized := &agentproto.StatusError{Code: 401, Body: api.Error{Message: "missing bearer token"}}
	none := &cliFlags{defaultTokenFile: "/var/lib/headroom/master/credentials/operator.token"}
	if msg := none.explain(unauthorized).Error(); !strings.Contains(msg, "no credential was sent") || !strings.Contains(msg, none.defaultTokenFile) || !strings.Contains(msg, "--token-file FILE") {
		t.Errorf("401 without a token: %s", msg)
	}
	sent := &cliFlags{token: tokenSource{envFile, "HEADROOM_TOKEN_FILE"}}
	if msg := sent.explain(unauthorized).Error(); !strings.Contains(msg, envFile) || !strings.Contains(msg, "HEADROOM_TOKEN_FILE") {
		t.Errorf("401 with a token: %s", msg)
	}
	forbidden := &agentproto.StatusError{Code: 403, Body: api.Error{Message: "forbidden"}}
	if msg := sent.explain(forbidden).Error(); !strings.Contains(msg, "role") || !errors.Is(sent.explain(forbidden), forbidden) {
		t.Errorf("403: %s", msg)
	}
	other := &agentproto.StatusError{Code: 404}
	if err := sent.explain(other); err != other {
		t.Errorf("404 changed: %v", err)
	}
}
