package framework

import (
	"net/url"
	"regexp"
	"strings"

	"github.com/headroom-dev/headroom/api"
)

// Fetch is one artifact fetched into the sandbox, Marathon's "fetch" entry.
type Fetch struct {
	URI        string `json:"uri"`
	Extract    bool   `json:"extract,omitempty"`
	Executable bool   `json:"executable,omitempty"`
	SHA256     string `json:"sha256,omitempty"`
	DestPath   string `json:"destPath,omitempty"`
}

var sha256RE = regexp.MustCompile(`^[0-9a-fA-F]{64}$`)

// ValidateFetch checks one fetch entry; field builds the path of one of
// its fields in the caller's notation ("/fetch/0/uri", "run.fetch[0].uri").
func ValidateFetch(v *Validator, field func(name string) string, f Fetch) {
	if !strings.HasPrefix(f.URI, "/") {
		u, err := url.Parse(f.URI)
		switch {
		case f.URI == "":
			v.Add(field("uri"), "must not be empty")
		case err != nil:
			v.Add(field("uri"), "not a URI: %v", err)
		case u.Scheme != "http" && u.Scheme != "https" && u.Scheme != "file":
			v.Add(field("uri"), "scheme must be http, https or file, or an absolute path")
		}
	}
	if f.SHA256 != "" && !sha256RE.MatchString(f.SHA256) {
		v.Add(field("sha256"), "must be 64 hex digits")
	}
	if f.DestPath != "" && (!api.SafeRelPath(f.DestPath) || strings.Contains(f.DestPath, "/")) {
		v.Add(field("destPath"), "must be a plain file name")
	}
}
