package auth

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// GeneratedRoles are the roles a master creates a credential for when it
// starts with none configured.
func GeneratedRoles() []Role { return []Role{Operator, Reader, Agent, Framework} }

// TokenFile is where Generate keeps the token of a role in dir.
func TokenFile(dir string, role Role) string {
	return filepath.Join(dir, string(role)+".token")
}

// Generate loads the credentials of dir, one per generated role
// (dir/ROLE.token, credential id ROLE), creating those missing: random
// tokens in 0600 files in a 0700 directory. created lists the roles whose
// token it made. A token file readable by others is refused: it is a
// secret anyone on the host could have read.
func Generate(dir string) (s *Set, created []Role, err error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, nil, fmt.Errorf("credentials directory: %w", err)
	}
	if err := os.Chmod(dir, 0o700); err != nil {
		return nil, nil, fmt.Errorf("credentials directory: %w", err)
	}
	var f File
	for _, role := range GeneratedRoles() {
		p := TokenFile(dir, role)
		made, err := ensureToken(p)
		if err != nil {
			return nil, nil, err
		}
		if made {
			created = append(created, role)
		}
		f.Credentials = append(f.Credentials, Entry{ID: string(role), Role: role, TokenFile: p})
	}
	s, err = f.build(dir)
	if err != nil {
		return nil, nil, fmt.Errorf("credentials directory %s: %w", dir, err)
	}
	return s, created, nil
}

// ensureToken creates the token file p unless it exists; an existing one
// must not be readable by group or others.
func ensureToken(p string) (bool, error) {
	st, err := os.Lstat(p)
	switch {
	case err == nil:
		if !st.Mode().IsRegular() {
			return false, fmt.Errorf("token file %s: not a regular file", p)
		}
		if perm := st.Mode().Perm(); perm&0o077 != 0 {
			return false, fmt.Errorf("token file %s: mode %04o lets others read it; chmod 600 it (or delete it to get a new token)", p, perm)
		}
		return false, nil
	case !errors.Is(err, os.ErrNotExist):
		return false, fmt.Errorf("token file: %w", err)
	}
	token, err := NewToken()
	if err != nil {
		return false, err
	}
	// O_EXCL: two masters sharing a data dir by mistake never overwrite
	// each other's token.
	f, err := os.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return false, fmt.Errorf("creating token file: %w", err)
	}
	if _, err := f.WriteString(token + "\n"); err != nil {
		f.Close()
		os.Remove(p)
		return false, fmt.Errorf("writing token file %s: %w", p, err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		os.Remove(p)
		return false, fmt.Errorf("writing token file %s: %w", p, err)
	}
	if err := f.Close(); err != nil {
		os.Remove(p)
		return false, fmt.Errorf("writing token file %s: %w", p, err)
	}
	return true, nil
}
