package auth

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"

	"gopkg.in/yaml.v3"
)

// Role is what a credential may do.
type Role string

// The roles. Operator may do everything; the others are narrower.
const (
	Operator  Role = "operator"
	Reader    Role = "reader"
	Agent     Role = "agent"
	Framework Role = "framework"
)

// Roles lists every role, in documentation order.
func Roles() []Role { return []Role{Operator, Reader, Agent, Framework} }

func (r Role) valid() bool { return slices.Contains(Roles(), r) }

// Identity is who a request comes from: the credential it presented.
type Identity struct {
	// Credential is the credential's id in the credentials file; it is
	// what an agent id is bound to (never the token).
	Credential string
	Role       Role
	// AgentID, when set, is the only agent id the credential may
	// register and heartbeat as.
	AgentID string
}

type credential struct {
	Identity
	hash [sha256.Size]byte
}

// Set is an immutable list of credentials.
type Set struct {
	creds []credential
	// byCN are the credentials given by a client certificate's common
	// name (mTLS through the exporter-toolkit web config).
	byCN map[string]Identity
}

// Len is the number of credentials.
func (s *Set) Len() int { return len(s.creds) + len(s.byCN) }

// AuthenticateCert finds the credential of a verified client certificate
// chain: its leaf's common name. Unverified certificates (a web config
// that requests but does not verify them) never count.
func (s *Set) AuthenticateCert(verified [][]*x509.Certificate) (Identity, bool) {
	if len(verified) == 0 || len(verified[0]) == 0 {
		return Identity{}, false
	}
	id, ok := s.byCN[verified[0][0].Subject.CommonName]
	return id, ok
}

// Authenticate finds the credential of an Authorization header value
// ("Bearer TOKEN"). Every credential is compared, in constant time, so the
// time taken tells nothing about which one nearly matched.
func (s *Set) Authenticate(header string) (Identity, bool) {
	scheme, token, ok := strings.Cut(header, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return Identity{}, false
	}
	token = strings.TrimSpace(token)
	if token == "" {
		return Identity{}, false
	}
	h := sha256.Sum256([]byte(token))
	found, match := -1, 0
	for i := range s.creds {
		eq := subtle.ConstantTimeCompare(h[:], s.creds[i].hash[:])
		found = subtle.ConstantTimeSelect(eq&(1-match), i, found)
		match |= eq
	}
	if match == 0 {
		return Identity{}, false
	}
	return s.creds[found].Identity, true
}

// TokenHash is the hex sha256 of a token, as the credentials file's
// token_sha256 wants it.
func TokenHash(token string) string {
	h := sha256.Sum256([]byte(token))
	return hex.EncodeToString(h[:])
}

// Single is a set of one credential (the legacy --token-file).
func Single(id string, role Role, token string) (*Set, error) {
	if token == "" {
		return nil, errors.New("empty token")
	}
	if !role.valid() {
		return nil, fmt.Errorf("role %q: want one of %v", role, Roles())
	}
	return &Set{creds: []credential{{Identity: Identity{Credential: id, Role: role}, hash: sha256.Sum256([]byte(token))}}}, nil
}

// File is the credentials file, YAML or JSON:
//
//	credentials:
//	  - id: ops
//	    role: operator
//	    token_sha256: 9f86d0...   # sha256 of the token, hex
//	  - id: agent-web-1
//	    role: agent
//	    agent_id: web-1            # this token may only be agent web-1
//	    token_file: agent-web-1.token
type File struct {
	Credentials []Entry `yaml:"credentials" json:"credentials"`
}

// Entry is one credential of the file: exactly one of TokenSHA256 (the
// token hashed, so the file holds no secret), TokenFile (a file holding
// the token, relative to the credentials file) or ClientCertCN.
type Entry struct {
	ID          string `yaml:"id" json:"id"`
	Role        Role   `yaml:"role" json:"role"`
	AgentID     string `yaml:"agent_id,omitempty" json:"agent_id,omitempty"`
	TokenSHA256 string `yaml:"token_sha256,omitempty" json:"token_sha256,omitempty"`
	TokenFile   string `yaml:"token_file,omitempty" json:"token_file,omitempty"`
	// ClientCertCN, instead of a token, takes a client certificate that
	// the web config's client_ca_file verified, by its common name.
	ClientCertCN string `yaml:"client_cert_cn,omitempty" json:"client_cert_cn,omitempty"`
}

var validID = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$`)

// maxFileBytes bounds the credentials file and the token files.
const maxFileBytes = 1 << 20

// Load reads a credentials file. Decoding is strict: unknown fields are
// errors, and every error names the entry and the field.
func Load(path string) (*Set, error) {
	raw, err := readSmall(path)
	if err != nil {
		return nil, fmt.Errorf("credentials file: %w", err)
	}
	dec := yaml.NewDecoder(bytes.NewReader(raw))
	dec.KnownFields(true)
	var f File
	if err := dec.Decode(&f); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("credentials file %s: empty", path)
		}
		return nil, fmt.Errorf("credentials file %s: %w", path, err)
	}
	var extra any
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("credentials file %s: one document expected", path)
	}
	s, err := f.build(filepath.Dir(path))
	if err != nil {
		return nil, fmt.Errorf("credentials file %s: %w", path, err)
	}
	return s, nil
}

func (f File) build(dir string) (*Set, error) {
	if len(f.Credentials) == 0 {
		return nil, errors.New("credentials: at least one is required")
	}
	s := &Set{}
	ids := map[string]bool{}
	hashes := map[[sha256.Size]byte]string{}
	for i, e := range f.Credentials {
		at := func(field string) string { return fmt.Sprintf("credentials[%d].%s", i, field) }
		if !validID.MatchString(e.ID) {
			return nil, fmt.Errorf("%s: %q: want 1-128 characters of A-Z a-z 0-9 . _ - starting with a letter or digit", at("id"), e.ID)
		}
		if ids[e.ID] {
			return nil, fmt.Errorf("%s: %q given twice", at("id"), e.ID)
		}
		ids[e.ID] = true
		if !e.Role.valid() {
			return nil, fmt.Errorf("%s: %q: want one of %v", at("role"), e.Role, Roles())
		}
		if e.AgentID != "" {
			if e.Role != Agent {
				return nil, fmt.Errorf("%s: only an agent credential is bound to an agent id (role is %q)", at("agent_id"), e.Role)
			}
			if !validID.MatchString(e.AgentID) {
				return nil, fmt.Errorf("%s: %q is not a valid agent id", at("agent_id"), e.AgentID)
			}
		}
		c := credential{Identity: Identity{Credential: e.ID, Role: e.Role, AgentID: e.AgentID}}
		given := 0
		for _, v := range []string{e.TokenSHA256, e.TokenFile, e.ClientCertCN} {
			if v != "" {
				given++
			}
		}
		switch {
		case given > 1:
			return nil, fmt.Errorf("%s: give one of token_sha256, token_file and client_cert_cn, not both", at("token_sha256"))
		case e.ClientCertCN != "":
			if s.byCN == nil {
				s.byCN = map[string]Identity{}
			}
			if _, dup := s.byCN[e.ClientCertCN]; dup {
				return nil, fmt.Errorf("%s: %q given twice", at("client_cert_cn"), e.ClientCertCN)
			}
			s.byCN[e.ClientCertCN] = c.Identity
			continue
		case e.TokenSHA256 != "":
			b, err := hex.DecodeString(e.TokenSHA256)
			if err != nil || len(b) != sha256.Size {
				return nil, fmt.Errorf("%s: want 64 hex digits (sha256 of the token, e.g. `printf %%s TOKEN | sha256sum`)", at("token_sha256"))
			}
			copy(c.hash[:], b)
		case e.TokenFile != "":
			p := e.TokenFile
			if !filepath.IsAbs(p) {
				p = filepath.Join(dir, p)
			}
			token, err := ReadPrivateToken(p)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", at("token_file"), err)
			}
			c.hash = sha256.Sum256([]byte(token))
		default:
			return nil, fmt.Errorf("%s: required (or token_file, or client_cert_cn)", at("token_sha256"))
		}
		if other, dup := hashes[c.hash]; dup {
			return nil, fmt.Errorf("%s: the same token as credential %q: each credential needs its own", at("id"), other)
		}
		hashes[c.hash] = e.ID
		s.creds = append(s.creds, c)
	}
	return s, nil
}

// ReadToken reads a token file: its content, surrounding space trimmed.
func ReadToken(path string) (string, error) {
	b, err := readSmall(path)
	if err != nil {
		return "", err
	}
	t := strings.TrimSpace(string(b))
	if t == "" {
		return "", fmt.Errorf("token file %s: empty", path)
	}
	if strings.ContainsAny(t, " \t\r\n") {
		return "", fmt.Errorf("token file %s: the token has white space inside", path)
	}
	return t, nil
}

// ReadPrivateToken reads a token file a server authenticates with, like
// ReadToken, but refuses one that group or others may read: on an agent
// host, whatever tasks run there could read it, and with it call every
// agent's API and register as an agent. The mode is checked on the opened
// file, so a file swapped between the check and the read is not missed.
func ReadPrivateToken(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return "", fmt.Errorf("token file %s: %w", path, err)
	}
	if !st.Mode().IsRegular() {
		return "", fmt.Errorf("token file %s: not a regular file", path)
	}
	if perm := st.Mode().Perm(); perm&0o077 != 0 {
		return "", fmt.Errorf("token file %s: mode %04o lets others read it; chmod 600 it", path, perm)
	}
	return ReadToken(path)
}

func readSmall(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxFileBytes+1))
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", path, err)
	}
	if len(b) > maxFileBytes {
		return nil, fmt.Errorf("%s: larger than %d bytes", path, maxFileBytes)
	}
	return b, nil
}

// NewToken makes a token: 32 random bytes, base64url.
func NewToken() (string, error) {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("random token: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(b[:]), nil
}
