package auth

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"log/slog"
	"math/big"
	"net"
	"net/http"
	"path/filepath"
	"testing"
	"time"

	"github.com/headroom-dev/headroom/internal/httpserver"
)

type testCA struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
	pem  []byte
}

func newTestCA(t *testing.T) *testCA {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	return &testCA{cert: cert, key: key, pem: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})}
}

// issue makes a leaf certificate: a server's for 127.0.0.1, or a client's.
func (ca *testCA) issue(t *testing.T, cn string, server bool) (certPEM, keyPEM []byte) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	serial, _ := rand.Int(rand.Reader, big.NewInt(1<<62))
	tmpl := &x509.Certificate{SerialNumber: serial, Subject: pkix.Name{CommonName: cn},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), KeyUsage: x509.KeyUsageDigitalSignature}
	if server {
		tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}
		tmpl.IPAddresses = []net.IP{net.ParseIP("127.0.0.1")}
	} else {
		tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	if err != nil {
		t.Fatal(err)
	}
	kd, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kd})
}

// mTLS through the exporter-toolkit web config: a verified client
// certificate's common name is a credential; an unknown one, or one from
// another CA, is not; a bearer token still works over the same TLS.
func TestClientCertificateCredentials(t *testing.T) {
	dir := t.TempDir()
	ca, rogue := newTestCA(t), newTestCA(t)
	srvCert, srvKey := ca.issue(t, "master", true)
	files := map[string][]byte{"ca.pem": ca.pem, "server.pem": srvCert, "server.key": srvKey}
	for name, b := range files {
		write(t, dir, name, string(b))
	}
	webConfig := write(t, dir, "web.yml", fmt.Sprintf("tls_server_config:\n  cert_file: %s\n  key_file: %s\n  client_auth_type: VerifyClientCertIfGiven\n  client_ca_file: %s\n",
		filepath.Join(dir, "server.pem"), filepath.Join(dir, "server.key"), filepath.Join(dir, "ca.pem")))
	creds := write(t, dir, "creds.yaml", "credentials:\n  - {id: ui-host, role: reader, client_cert_cn: ui.example}\n  - {id: ops, role: operator, token_sha256: "+TokenHash("ops")+"}\n")
	set, err := Load(creds)
	if err != nil {
		t.Fatal(err)
	}
	rule := Rule{Roles: []Role{Reader}}
	h := Policy{Credentials: set, Route: func(*http.Request) (string, Rule, bool) { return "GET /x", rule, true }}.Handler(
		http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			id, _ := FromContext(r.Context())
			w.Header().Set("X-Credential", id.Credential)
		}))

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- httpserver.Serve(ctx, httpserver.Config{Listener: ln, WebConfigFile: webConfig, Handler: h, Logger: slog.New(slog.DiscardHandler)})
	}()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Serve: %v", err)
		}
	})
	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM(ca.pem)
	client := func(issuer *testCA, cn string) *http.Client {
		cfg := &tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS12}
		if issuer != nil {
			c, k := issuer.issue(t, cn, false)
			pair, err := tls.X509KeyPair(c, k)
			if err != nil {
				t.Fatal(err)
			}
			cfg.Certificates = []tls.Certificate{pair}
		}
		return &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: cfg}}
	}
	url := "https://" + ln.Addr().String() + "/x"
	for _, c := range []struct {
		name   string
		client *http.Client
		token  string
		code   int
		who    string
	}{
		{"a known common name", client(ca, "ui.example"), "", 200, "ui-host"},
		{"an unknown common name", client(ca, "stranger"), "", 401, ""},
		{"a certificate of another CA", client(rogue, "ui.example"), "", -1, ""},
		{"no certificate", client(nil, ""), "", 401, ""},
		{"no certificate, a token", client(nil, ""), "ops", 200, "ops"},
	} {
		req, _ := http.NewRequest(http.MethodGet, url, nil)
		if c.token != "" {
			req.Header.Set("Authorization", "Bearer "+c.token)
		}
		resp, err := c.client.Do(req)
		if c.code == -1 {
			// The handshake itself fails: the web config verifies the chain.
			if err == nil {
				resp.Body.Close()
				t.Errorf("%s: answered %d, want the TLS handshake refused", c.name, resp.StatusCode)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", c.name, err)
			continue
		}
		resp.Body.Close()
		if resp.StatusCode != c.code || resp.Header.Get("X-Credential") != c.who {
			t.Errorf("%s: %d as %q, want %d as %q", c.name, resp.StatusCode, resp.Header.Get("X-Credential"), c.code, c.who)
		}
	}
}
