package main

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net/http"
	"os"
	"time"

	"github.com/headroom-dev/headroom/api/agentproto"
)

// httpClient is the client every headroom component uses to call another:
// it trusts the CA in caFile (PEM) besides the system's when given, and
// keeps the bearer token across a standby's redirect to the leader.
func httpClient(flag, caFile string, timeout time.Duration) (*http.Client, error) {
	c := &http.Client{Timeout: timeout, CheckRedirect: agentproto.KeepAuthOnRedirect}
	if caFile == "" {
		return c, nil
	}
	pem, err := os.ReadFile(caFile)
	if err != nil {
		return nil, fmt.Errorf("--%s: %w", flag, err)
	}
	pool, err := x509.SystemCertPool()
	if err != nil || pool == nil {
		pool = x509.NewCertPool()
	}
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("--%s %s: no PEM certificate in it", flag, caFile)
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.TLSClientConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	c.Transport = tr
	return c, nil
}
