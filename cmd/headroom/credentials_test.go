package main

import (
	"bytes"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/headroom-dev/headroom/internal/auth"
)

// What a master accepts: generated credentials by default (reused across
// restarts), a credentials file, the legacy token, or nothing with a loud
// warning; conflicting or unsafe choices are refused with the flag named.
func TestMasterCredentials(t *testing.T) {
	var logs bytes.Buffer
	log := slog.New(slog.NewTextHandler(&logs, nil))
	dataDir := t.TempDir()

	set, agentToken, err := masterCredentials(&masterFlags{dataDir: dataDir}, log)
	if err != nil || set == nil || set.Len() != len(auth.GeneratedRoles()) {
		t.Fatalf("default: %v", err)
	}
	dir := credentialsDir(dataDir)
	if tok, _ := auth.ReadToken(auth.TokenFile(dir, auth.Agent)); tok == "" || tok != agentToken {
		t.Fatalf("the token sent to agents %q is not the generated agent credential %q", agentToken, tok)
	}
	op, _ := auth.ReadToken(auth.TokenFile(dir, auth.Operator))
	again, _, err := masterCredentials(&masterFlags{dataDir: dataDir}, log)
	if id, ok := again.Authenticate("Bearer " + op); err != nil || !ok || id.Role != auth.Operator {
		t.Fatalf("after a restart the operator token is not accepted: %v", err)
	}

	token := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(token, []byte("legacy-token\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	set, agentToken, err = masterCredentials(&masterFlags{dataDir: dataDir, tokenFile: token}, log)
	if id, ok := set.Authenticate("Bearer legacy-token"); err != nil || !ok || id.Role != auth.Operator || agentToken != "legacy-token" {
		t.Fatalf("--token-file: %+v %v %q", id, err, agentToken)
	}

	logs.Reset()
	set, _, err = masterCredentials(&masterFlags{dataDir: dataDir, insecure: true, listen: ":5050"}, log)
	if err != nil || set != nil || !strings.Contains(logs.String(), "level=WARN") || !strings.Contains(logs.String(), "INSECURE") {
		t.Fatalf("--insecure: set %v, %v, log %q", set, err, logs.String())
	}

	for _, c := range []struct {
		name string
		f    masterFlags
		want string
	}{
		{"insecure and a file", masterFlags{dataDir: dataDir, insecure: true, credentialsFile: token}, "at most one"},
		{"file and token", masterFlags{dataDir: dataDir, tokenFile: token, credentialsFile: token}, "at most one"},
		{"shared etcd without shared credentials", masterFlags{dataDir: t.TempDir(), etcdEndpoints: "http://127.0.0.1:2379"}, "--etcd-endpoints"},
		{"a bad credentials file", masterFlags{dataDir: dataDir, credentialsFile: token}, "--credentials-file"},
		{"a missing token file", masterFlags{dataDir: dataDir, tokenFile: filepath.Join(dataDir, "nope")}, "--token-file"},
		{"a missing agent API token", masterFlags{dataDir: dataDir, agentAPITokenFile: filepath.Join(dataDir, "nope")}, "--agent-api-token-file"},
	} {
		if _, _, err := masterCredentials(&c.f, log); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want an error naming %s", c.name, err, c.want)
		}
	}
}
