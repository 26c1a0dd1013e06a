package agent

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// A master that refuses the agent's credential: the error the agent logs
// says why (the refusal's reason) and, on a 401, what to pass.
func TestMasterClientExplainsRefusals(t *testing.T) {
	var gotAuth string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		gotAuth = r.Header.Get("Authorization")
		w.Header().Set("Content-Type", "application/json")
		if gotAuth == "" {
			w.WriteHeader(http.StatusUnauthorized)
			_, _ = w.Write([]byte(`{"message":"missing bearer token"}`))
			return
		}
		w.WriteHeader(http.StatusForbidden)
		_, _ = w.Write([]byte(`{"message":"registration refused","details":"agent \"a\" is bound to the credential that first registered it"}`))
	}))
	t.Cleanup(srv.Close)
	for _, c := range []struct {
		token string
		want  []string
	}{
		{"", []string{"401", "missing bearer token", "--token-file", "credentials/agent.token"}},
		{"t0k", []string{"403", "registration refused", "bound to the credential"}},
	} {
		mc, err := NewMasterClient(MasterConfig{URLs: []string{srv.URL}, Token: c.token})
		if err != nil {
			t.Fatal(err)
		}
		var out struct{}
		err = mc.call(context.Background(), "/api/v1/agents/register", map[string]string{}, &out)
		if err == nil {
			t.Fatalf("token %q: no error", c.token)
		}
		for _, w := range c.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("token %q: %q lacks %q", c.token, err, w)
			}
		}
		if c.token != "" && gotAuth != "Bearer "+c.token {
			t.Errorf("sent Authorization %q", gotAuth)
		}
	}
}
