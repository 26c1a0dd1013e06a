package ui

import (
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"

	"github.com/headroom-dev/headroom/api"
)

func TestHandlerServesTheEmbeddedFiles(t *testing.T) {
	h := Handler()
	for _, tc := range []struct {
		path, contentType, contains string
		code                        int
	}{
		{"/ui/", "text/html", `<script src="app.js"`, 200},
		{"/ui/app.js", "javascript", "sessionStorage", 200},
		{"/ui/app.css", "text/css", "--harvest", 200},
		{"/ui/vendor/uplot/uPlot.iife.min.js", "javascript", "uPlot (v1.6.32)", 200},
		{"/ui/vendor/uplot/uPlot.min.css", "text/css", ".uplot", 200},
		{"/ui/vendor/uplot/LICENSE", "text/plain", "MIT License", 200},
		{"/ui/nope.js", "", "", 404},
	} {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, tc.path, nil))
		if rec.Code != tc.code {
			t.Errorf("%s: %d, want %d", tc.path, rec.Code, tc.code)
			continue
		}
		if !strings.Contains(rec.Header().Get("Content-Type"), tc.contentType) {
			t.Errorf("%s: Content-Type %q, want %q", tc.path, rec.Header().Get("Content-Type"), tc.contentType)
		}
		if !strings.Contains(rec.Body.String(), tc.contains) {
			t.Errorf("%s: body lacks %q", tc.path, tc.contains)
		}
		if csp := rec.Header().Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'self'") || !strings.Contains(csp, "frame-ancestors 'none'") {
			t.Errorf("%s: CSP %q", tc.path, csp)
		}
	}
}

// Nothing in the pages comes from elsewhere: hosts are often offline.
func TestNoExternalReferences(t *testing.T) {
	for _, name := range []string{"assets/index.html", "assets/app.js", "assets/app.css"} {
		b, err := assets.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		for _, bad := range []string{"http://", "https://", "//cdn", "innerHTML", "eval("} {
			if strings.Contains(string(b), bad) {
				t.Errorf("%s contains %q", name, bad)
			}
		}
	}
}

// The page's list of ended task states is the API's: a state left out
// would count an ended task's resources as held.
func TestEndedStatesAreTheTerminalOnes(t *testing.T) {
	b, err := assets.ReadFile("assets/app.js")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`const ENDED = /(.*)/;`).FindSubmatch(b)
	if m == nil {
		t.Fatal("app.js has no ENDED")
	}
	ended := regexp.MustCompile(string(m[1]))
	for _, s := range []api.TaskState{api.TaskStaging, api.TaskStarting, api.TaskRunning, api.TaskFinished, api.TaskFailed,
		api.TaskKilled, api.TaskPreempted, api.TaskLost, api.TaskUnreachable, api.TaskGone, api.TaskError, api.TaskDropped, api.TaskUnknown} {
		if ended.MatchString(string(s)) != s.IsTerminal() {
			t.Errorf("%s: ended in the UI %v, terminal in the API %v", s, ended.MatchString(string(s)), s.IsTerminal())
		}
	}
}
