package main

import (
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"

	"github.com/headroom-dev/headroom/internal/auth"
)

// defaultMasterDataDir is the master's --data-dir default; the CLI looks
// for the operator token below it.
const defaultMasterDataDir = "/var/lib/headroom/master"

// credentialsDir is where a master keeps the credentials it generates.
func credentialsDir(dataDir string) string { return filepath.Join(dataDir, "credentials") }

// masterCredentials decides what the master's API accepts: the
// credentials file, the legacy single token (an operator credential), or
// by default the credentials of --data-dir/credentials, created on first
// start. --insecure serves everyone, loudly. agentToken is what the
// master sends to the agents' APIs.
func masterCredentials(f *masterFlags, log *slog.Logger) (set *auth.Set, agentToken string, err error) {
	given := 0
	for _, on := range []bool{f.insecure, f.credentialsFile != "", f.tokenFile != ""} {
		if on {
			given++
		}
	}
	if given > 1 {
		return nil, "", errors.New("--insecure, --credentials-file and --token-file: give at most one")
	}
	switch {
	case f.insecure:
		log.Warn("INSECURE: --insecure is set: the API requires no credential, and anyone who can reach " + f.listen +
			" can register agents, run commands on them and kill every task; use it on a test bench only (docs/security.md)")
	case f.credentialsFile != "":
		if set, err = auth.Load(f.credentialsFile); err != nil {
			return nil, "", fmt.Errorf("--credentials-file: %w", err)
		}
		log.Info("credentials loaded", "file", f.credentialsFile, "credentials", set.Len())
	case f.tokenFile != "":
		token, err := readPrivateToken(f.tokenFile)
		if err != nil {
			return nil, "", err
		}
		if set, err = auth.Single("token-file", auth.Operator, token); err != nil {
			return nil, "", fmt.Errorf("--token-file: %w", err)
		}
		agentToken = token
	default:
		if f.etcdEndpoints != "" {
			return nil, "", errors.New("--etcd-endpoints: masters sharing an etcd must accept the same credentials: " +
				"give each the same --credentials-file (docs/security.md), or --insecure on a test bench")
		}
		dir := credentialsDir(f.dataDir)
		var created []auth.Role
		if set, created, err = auth.Generate(dir); err != nil {
			return nil, "", fmt.Errorf("--data-dir: %w", err)
		}
		if agentToken, err = auth.ReadToken(auth.TokenFile(dir, auth.Agent)); err != nil {
			return nil, "", fmt.Errorf("--data-dir: %w", err)
		}
		log.Info("credentials required; agents need --token-file "+auth.TokenFile(dir, auth.Agent)+
			", the CLI reads "+auth.TokenFile(dir, auth.Operator), "dir", dir, "created", fmt.Sprint(created))
	}
	if f.agentAPITokenFile != "" {
		if agentToken, err = auth.ReadPrivateToken(f.agentAPITokenFile); err != nil {
			return nil, "", fmt.Errorf("--agent-api-token-file: %w", err)
		}
	}
	return set, agentToken, nil
}
