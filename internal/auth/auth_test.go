package auth

import (
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func write(t *testing.T, dir, name, body string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestLoadAndAuthenticate(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, "agent.token", "agent-secret-token\n")
	path := write(t, dir, "creds.yaml", `credentials:
  - id: ops
    role: operator
    token_sha256: `+TokenHash("ops-secret")+`
  - id: web-1
    role: agent
    agent_id: web-1
    token_file: agent.token
  - id: ui
    role: reader
    token_sha256: `+TokenHash("ui-secret")+`
`)
	s, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		header string
		want   Identity
		ok     bool
	}{
		{"Bearer ops-secret", Identity{Credential: "ops", Role: Operator}, true},
		{"bearer ops-secret", Identity{Credential: "ops", Role: Operator}, true},
		{"Bearer agent-secret-token", Identity{Credential: "web-1", Role: Agent, AgentID: "web-1"}, true},
		{"Bearer ui-secret", Identity{Credential: "ui", Role: Reader}, true},
		{"Bearer ops-secreT", Identity{}, false},
		{"Basic ops-secret", Identity{}, false},
		{"Bearer ", Identity{}, false},
		{"", Identity{}, false},
	}
	for _, c := range cases {
		got, ok := s.Authenticate(c.header)
		if ok != c.ok || got != c.want {
			t.Errorf("Authenticate(%q) = %+v, %v; want %+v, %v", c.header, got, ok, c.want, c.ok)
		}
	}
	// The same file as JSON.
	js := write(t, dir, "creds.json", `{"credentials":[{"id":"ops","role":"operator","token_sha256":"`+TokenHash("x")+`"}]}`)
	if s, err := Load(js); err != nil || s.Len() != 1 {
		t.Fatalf("JSON credentials: %v", err)
	}
}

func TestLoadRefusesBadFiles(t *testing.T) {
	dir := t.TempDir()
	h := TokenHash("a")
	write(t, dir, "empty.token", "\n")
	cases := map[string]struct{ body, want string }{
		"unknown field":  {"credentials:\n  - id: a\n    role: operator\n    token: a\n", "field token not found"},
		"bad role":       {"credentials:\n  - id: a\n    role: admin\n    token_sha256: " + h + "\n", "credentials[0].role: \"admin\""},
		"no id":          {"credentials:\n  - role: operator\n    token_sha256: " + h + "\n", "credentials[0].id"},
		"duplicate id":   {"credentials:\n  - {id: a, role: operator, token_sha256: " + h + "}\n  - {id: a, role: reader, token_sha256: " + TokenHash("b") + "}\n", "credentials[1].id: \"a\" given twice"},
		"same token":     {"credentials:\n  - {id: a, role: operator, token_sha256: " + h + "}\n  - {id: b, role: reader, token_sha256: " + h + "}\n", "same token as credential \"a\""},
		"short hash":     {"credentials:\n  - {id: a, role: operator, token_sha256: abc}\n", "credentials[0].token_sha256: want 64 hex digits"},
		"no token":       {"credentials:\n  - {id: a, role: operator}\n", "credentials[0].token_sha256: required"},
		"both tokens":    {"credentials:\n  - {id: a, role: operator, token_sha256: " + h + ", token_file: x}\n", "not both"},
		"cn and token":   {"credentials:\n  - {id: a, role: reader, client_cert_cn: ui, token_sha256: " + h + "}\n", "not both"},
		"duplicate cn":   {"credentials:\n  - {id: a, role: reader, client_cert_cn: ui}\n  - {id: b, role: operator, client_cert_cn: ui}\n", "credentials[1].client_cert_cn: \"ui\" given twice"},
		"agent id":       {"credentials:\n  - {id: a, role: reader, agent_id: x, token_sha256: " + h + "}\n", "credentials[0].agent_id: only an agent credential"},
		"bad agent id":   {"credentials:\n  - {id: a, role: agent, agent_id: \"../x\", token_sha256: " + h + "}\n", "not a valid agent id"},
		"missing file":   {"credentials:\n  - {id: a, role: agent, token_file: nope.token}\n", "credentials[0].token_file"},
		"empty token":    {"credentials:\n  - {id: a, role: agent, token_file: empty.token}\n", "empty"},
		"no credentials": {"credentials: []\n", "at least one"},
		"empty file":     {"", "empty"},
		"two documents":  {"credentials:\n  - {id: a, role: operator, token_sha256: " + h + "}\n---\nx: 1\n", "one document"},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			p := write(t, dir, strings.ReplaceAll(name, " ", "-")+".yaml", c.body)
			_, err := Load(p)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("Load: %v, want an error containing %q", err, c.want)
			}
		})
	}
}

func TestGenerate(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "credentials")
	s, created, err := Generate(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(created) != len(GeneratedRoles()) || s.Len() != len(GeneratedRoles()) {
		t.Fatalf("created %v, %d credentials", created, s.Len())
	}
	if st, err := os.Stat(dir); err != nil || st.Mode().Perm() != 0o700 {
		t.Fatalf("directory: %v %v, want mode 0700", st.Mode(), err)
	}
	tokens := map[string]bool{}
	for _, role := range GeneratedRoles() {
		p := TokenFile(dir, role)
		st, err := os.Stat(p)
		if err != nil || st.Mode().Perm() != 0o600 {
			t.Fatalf("%s: %v, want mode 0600", p, err)
		}
		tok, err := ReadToken(p)
		if err != nil || len(tok) != 43 {
			t.Fatalf("%s: token %q (%v), want 32 bytes base64url", p, tok, err)
		}
		tokens[tok] = true
		id, ok := s.Authenticate("Bearer " + tok)
		if !ok || id.Role != role || id.Credential != string(role) {
			t.Errorf("%s's token authenticates as %+v, %v", role, id, ok)
		}
	}
	if len(tokens) != len(GeneratedRoles()) {
		t.Fatal("two roles got the same token")
	}
	// A restart reuses the tokens.
	op, _ := ReadToken(TokenFile(dir, Operator))
	s2, created, err := Generate(dir)
	if err != nil || len(created) != 0 {
		t.Fatalf("second Generate: created %v, %v", created, err)
	}
	if id, ok := s2.Authenticate("Bearer " + op); !ok || id.Role != Operator {
		t.Fatal("the operator token changed across restarts")
	}
	// A token others can read is refused.
	if err := os.Chmod(TokenFile(dir, Reader), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, _, err := Generate(dir); err == nil || !strings.Contains(err.Error(), "mode 0644") {
		t.Fatalf("Generate with a 0644 token: %v", err)
	}
}

func TestPolicyHandler(t *testing.T) {
	s, err := (File{Credentials: []Entry{
		{ID: "ops", Role: Operator, TokenSHA256: TokenHash("o")},
		{ID: "ui", Role: Reader, TokenSHA256: TokenHash("r")},
		{ID: "a", Role: Agent, TokenSHA256: TokenHash("a")},
	}}).build("")
	if err != nil {
		t.Fatal(err)
	}
	rules := map[string]Rule{
		"/public": {Public: true},
		"/read":   {Roles: []Role{Reader, Agent}},
		"/agent":  {Roles: []Role{Agent}},
		"/norule": {},
	}
	var seen Identity
	next := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seen, _ = FromContext(r.Context())
		w.WriteHeader(http.StatusNoContent)
	})
	h := Policy{Credentials: s, Route: func(r *http.Request) (string, Rule, bool) {
		if r.URL.Path == "/unrouted" {
			return "", Rule{}, false
		}
		if r.URL.Path == "/missing" {
			return "/missing", Rule{}, false
		}
		rule, ok := rules[r.URL.Path]
		return r.URL.Path, rule, ok
	}}.Handler(next)
	cases := []struct {
		method, path, token string
		want                int
	}{
		{"GET", "/public", "", 204},
		{"GET", "/read", "", 401},
		{"GET", "/read", "wrong", 401},
		{"GET", "/read", "r", 204},
		{"POST", "/read", "r", 403}, // reader: GET only
		{"POST", "/read", "a", 204},
		{"GET", "/agent", "r", 403},
		{"POST", "/agent", "a", 204},
		{"POST", "/agent", "o", 204}, // operator: everything
		{"GET", "/norule", "a", 403},
		{"GET", "/missing", "r", 403}, // no rule: operator only
		{"GET", "/missing", "o", 204},
		{"GET", "/unrouted", "", 401},
		{"GET", "/unrouted", "r", 204}, // left to the mux (404)
	}
	for _, c := range cases {
		req := httptest.NewRequest(c.method, c.path, nil)
		if c.token != "" {
			req.Header.Set("Authorization", "Bearer "+c.token)
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != c.want {
			t.Errorf("%s %s with %q: %d, want %d (%s)", c.method, c.path, c.token, rec.Code, c.want, rec.Body)
		}
		if rec.Code == 401 && rec.Header().Get("WWW-Authenticate") == "" {
			t.Errorf("%s %s: 401 without WWW-Authenticate", c.method, c.path)
		}
	}
	req := httptest.NewRequest("POST", "/agent", nil)
	req.Header.Set("Authorization", "Bearer a")
	h.ServeHTTP(httptest.NewRecorder(), req)
	if seen.Credential != "a" || seen.Role != Agent {
		t.Fatalf("identity in the handler's context: %+v", seen)
	}
}
