package main

import (
	"context"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	cdplog "github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"github.com/headroom-dev/headroom/api/agentproto"
	"github.com/headroom-dev/headroom/api/scheduler"
	"github.com/headroom-dev/headroom/internal/testutil"
)

// browser is a headless Chromium driven by chromedp, recording every
// console error and uncaught exception of the pages it shows.
type browser struct {
	t     *testing.T
	ctx   context.Context
	shots string

	mu     sync.Mutex
	errors []string
}

// needBrowser finds a Debian browser the web UI's tests drive (its
// command and package are both name): in CI the test must run, so a
// missing one is installed or fails; elsewhere it skips, saying why.
func needBrowser(t *testing.T, name, how string) string {
	t.Helper()
	if p, err := exec.LookPath(name); err == nil {
		return p
	}
	if !testutil.InCI() {
		t.Skipf("%s not found: the web UI's tests drive Debian's %s %s (apt-get install %s)", name, name, how, name)
	}
	return testutil.NeedCommand(t, name, name)
}

func needChromium(t *testing.T) string {
	t.Helper()
	return needBrowser(t, "chromium", "through chromedp")
}

func startBrowser(t *testing.T) *browser {
	t.Helper()
	exe := needChromium(t)
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(exe),
		chromedp.Flag("headless", true),
		chromedp.Flag("no-sandbox", true),
		chromedp.Flag("disable-gpu", true),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("no-first-run", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1400, 1000),
	}
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(actx)
	t.Cleanup(func() {
		cancel()
		cancelAlloc()
	})
	// The screenshots are for people: kept where HEADROOM_UI_SCREENSHOTS
	// says, and in a temp dir of their own when the test fails; a passing
	// run removes its temp dir, as every test cleans up after itself.
	shots := os.Getenv("HEADROOM_UI_SCREENSHOTS")
	if shots == "" {
		var err error
		if shots, err = os.MkdirTemp("", "headroom-ui-screenshots-"); err != nil {
			t.Fatal(err)
		}
		dir := shots
		t.Cleanup(func() {
			if t.Failed() {
				t.Logf("screenshots kept for the failure: %s", dir)
				return
			}
			os.RemoveAll(dir)
		})
		t.Logf("screenshots of the UI's pages: %s (removed if the test passes; HEADROOM_UI_SCREENSHOTS=DIR keeps them)", shots)
	} else if err := os.MkdirAll(shots, 0o755); err != nil {
		t.Fatal(err)
	} else {
		t.Logf("screenshots of the UI's pages: %s", shots)
	}
	b := &browser{t: t, ctx: ctx, shots: shots}
	err := chromedp.Listen(ctx, func(ev any) {
		var msg string
		switch ev := ev.(type) {
		case *runtime.EventConsoleAPICalled:
			if ev.Type == runtime.ConsoleAPICalledTypeError || ev.Type == runtime.ConsoleAPICalledTypeAssert {
				var parts []string
				for _, a := range ev.Args {
					parts = append(parts, string(a.Value)+a.Description)
				}
				msg = "console." + string(ev.Type) + ": " + strings.Join(parts, " ")
			}
		case *runtime.EventExceptionThrown:
			msg = "uncaught: " + ev.ExceptionDetails.Text
			if ev.ExceptionDetails.Exception != nil {
				msg += " " + ev.ExceptionDetails.Exception.Description
			}
		case *cdplog.EventEntryAdded:
			// Failed requests are the API's answers (a 422 the page
			// shows); anything else at error level (a CSP violation, a
			// script that does not load) is the page's fault.
			if ev.Entry.Level == cdplog.EntryLevelError && ev.Entry.Source != cdplog.EntrySourceNetwork {
				msg = "log " + string(ev.Entry.Source) + ": " + ev.Entry.Text + " " + ev.Entry.URL
			}
		}
		if msg != "" {
			b.mu.Lock()
			b.errors = append(b.errors, msg)
			b.mu.Unlock()
		}
	})
	if err != nil {
		t.Fatalf("starting chromium: %v", err)
	}
	// The log domain (chromedp enables the runtime's itself).
	if err := chromedp.Do(ctx, chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		_, err := cdp.Call(ctx, t, cdplog.Enable, cdp.Empty{})
		return err
	})); err != nil {
		t.Fatalf("starting chromium: %v", err)
	}
	return b
}

// run runs actions with a bound, failing the test with what.
func (b *browser) run(what string, timeout time.Duration, actions ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, timeout)
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		sctx, scancel := context.WithTimeout(b.ctx, 10*time.Second)
		shot, _ := chromedp.Run(sctx, chromedp.FullScreenshot(100))
		scancel()
		name := filepath.Join(b.shots, "failed-"+strings.ReplaceAll(what, " ", "-")+".png")
		_ = os.WriteFile(name, shot, 0o644)
		bctx, bcancel := context.WithTimeout(b.ctx, 5*time.Second)
		body, _ := chromedp.Run(bctx, chromedp.Text(chromedp.CSS("#main")))
		bcancel()
		b.t.Fatalf("%s: %v (screenshot %s)\npage: %s\nconsole: %v", what, err, name, body, b.consoleErrors())
	}
}

// waitJS polls a JavaScript expression until it is true.
func waitJS(expr string, timeout time.Duration) chromedp.Action[chromedp.Void] {
	return chromedp.Poll[chromedp.Void](expr, chromedp.WithPollingTimeout(timeout), chromedp.WithPollingInterval(100*time.Millisecond))
}

func (b *browser) consoleErrors() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]string(nil), b.errors...)
}

// checkConsole fails the test on any console error so far, naming page.
func (b *browser) checkConsole(page string) {
	b.t.Helper()
	b.mu.Lock()
	errs := b.errors
	b.errors = nil
	b.mu.Unlock()
	for _, e := range errs {
		b.t.Errorf("page %s: %s", page, e)
	}
}

// shot writes a screenshot of the page as ui-NAME.png.
func (b *browser) shot(name string) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 30*time.Second)
	defer cancel()
	buf, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		b.t.Fatalf("screenshot %s: %v", name, err)
	}
	if err := os.WriteFile(filepath.Join(b.shots, "ui-"+name+".png"), buf, 0o644); err != nil {
		b.t.Fatal(err)
	}
}

// uiCluster is what the browser tests drive: a real master, one real
// agent and a job, for every page to have something to show.
type uiCluster struct {
	*cluster
	master    string // the master's base URL
	agentID   string
	agentAddr string
}

func startUICluster(t *testing.T) *uiCluster {
	t.Helper()
	c := newCluster(t)
	master, _ := c.startClientMaster(freeAddr(t))
	agentAddr := freeAddr(t)
	c.startAgentAt("ui-host", master, agentAddr, "--attributes", "rack=r1,disk=ssd")
	c.waitAgents(1)
	var agents []struct {
		ID string `json:"id"`
	}
	if err := c.get("/api/v1/agents", &agents); err != nil || len(agents) != 1 {
		t.Fatalf("agents: %v %v", agents, err)
	}
	job := `{"id": "reports.nightly", "run": {"cmd": "echo report", "cpus": 0.1, "mem": 32},
		"schedules": [{"id": "nightly", "cron": "0 3 * * *"}]}`
	if err := c.client.Do(context.Background(), http.MethodPost, "/v1/jobs", []byte(job), nil); err != nil {
		t.Fatalf("creating a job: %v", err)
	}
	return &uiCluster{cluster: c, master: master, agentID: agents[0].ID, agentAddr: agentAddr}
}

const uiApp = `{"id": "/ui/web", "cmd": "echo \"hello from the ui test\"; while true; do sleep 5; done", "cpus": 0.1, "mem": 32, "instances": 1}`

// What the pages show once their data are in: the JavaScript both
// browsers' tests wait on.
const (
	overviewReady   = `document.querySelector('#cluster-cpu') && document.querySelector('#cluster-cpu').dataset.points > 0`
	hostChartReady  = `document.querySelector('#host-cpu') && document.querySelector('#host-cpu').dataset.points > 0 && document.querySelector('#host-cpu canvas') !== null`
	jobsReady       = `[...document.querySelectorAll('fieldset.job legend')].some((l) => l.textContent === 'reports.nightly')`
	logTailReady    = `document.querySelector('#log-stdout') && document.querySelector('#log-stdout').textContent.includes('hello from the ui test')`
	loggedOutReady  = `document.querySelector('#flash').textContent.includes('bearer token')`
	frameworksReady = `(() => { const c = document.querySelector('#frameworks-table tr[data-id="headroom-apps"] td.offers-outstanding'); return c !== null && /^[0-9]+$/.test(c.textContent); })()`
)

// rowReady is true once the table has the row of id.
func rowReady(table, id string) string {
	return `document.querySelector('#` + table + ` tr[data-id="` + id + `"]') !== null`
}

// appRunning is true once the UI's app shows n running.
func appRunning(n int) string {
	return `(() => { const r = document.querySelector('#apps-table tr[data-id="ui/web"] .running'); return r && r.textContent === '` + strconv.Itoa(n) + `'; })()`
}

// subscribeHolder subscribes an external framework that never answers
// its offers, and returns its id once it holds one. The stream ends with
// the test.
func (u *uiCluster) subscribeHolder(name string, timeout time.Duration) string {
	u.t.Helper()
	fc, err := agentproto.NewClient(u.master, u.read(u.frameworkTokenFile))
	if err != nil {
		u.t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	u.t.Cleanup(cancel)
	sess, err := scheduler.NewClient(fc).Subscribe(ctx, scheduler.FrameworkInfo{Name: name,
		Capabilities: []scheduler.Capability{{Type: scheduler.CapabilityRevocable}}})
	if err != nil {
		u.t.Fatalf("subscribing %s: %v", name, err)
	}
	u.t.Cleanup(sess.Close)
	// Recv has no bound of its own: closing the session ends it.
	wait, stop := context.WithTimeout(ctx, timeout)
	defer stop()
	context.AfterFunc(wait, func() {
		if wait.Err() == context.DeadlineExceeded {
			sess.Close()
		}
	})
	for {
		ev, err := sess.Recv()
		if err != nil {
			u.t.Fatalf("framework %s got no offer within %v: %v", name, timeout, err)
		}
		if ev.Type == scheduler.EventOffers && len(ev.Offers.Offers) > 0 {
			return sess.FrameworkID
		}
	}
}

// runningTask waits for the UI's app to have one task running and
// returns its id.
func (u *uiCluster) runningTask(timeout time.Duration) string {
	u.t.Helper()
	var id string
	testutil.Eventually(u.t, timeout, 200*time.Millisecond, func() bool {
		if r := running(u.appTasks("/ui/web")); len(r) == 1 {
			id = r[0].ID
		}
		return id != ""
	}, "the app's task running")
	return id
}

// The web UI in a real browser against a real master and agent: every
// page loads without console errors; an app deployed through the form
// runs, a bad one shows its field error, scaling and deleting work; the
// host's chart has points and an override set on its page changes the
// agent's applied reservation; a task's printed line shows in its log
// tail; the frameworks page counts the offer an external framework holds.
func TestWebUI(t *testing.T) {
	needChromium(t)
	u := startUICluster(t)
	c, master, agentID, agentAddr := u.cluster, u.master, u.agentID, u.agentAddr

	b := startBrowser(t)
	const long = 90 * time.Second
	b.run("login", long,
		chromedp.Navigate(master+"/ui/"),
		chromedp.WaitVisible(chromedp.CSS("#token")),
		chromedp.SendKeys(chromedp.CSS("#token"), c.token),
		chromedp.Click(chromedp.CSS("#login-save")),
		waitJS(overviewReady, long),
	)
	b.checkConsole("overview")
	b.shot("overview")

	// Apps: deploy through the form; it runs.
	b.run("deploy", long,
		chromedp.Navigate(master+"/ui/#/apps"),
		chromedp.WaitVisible(chromedp.CSS("#app-json")),
		chromedp.SetValue(chromedp.CSS("#app-json"), uiApp),
		chromedp.Click(chromedp.CSS("#app-deploy")),
		waitJS(appRunning(1), long),
	)
	b.checkConsole("apps")
	// A bad definition: the API's field error shows by the form.
	b.run("bad app", long,
		chromedp.SetValue(chromedp.CSS("#app-json"), `{"id": "/ui/bad", "cmd": "true", "cpus": -1, "mem": 32}`),
		chromedp.Click(chromedp.CSS("#app-deploy")),
		waitJS(`[...document.querySelectorAll('#app-errors .field-error')].some((e) => e.dataset.path === '/cpus' && e.textContent.includes('must be'))`, long),
	)
	b.checkConsole("apps (bad definition)")
	b.shot("apps")

	// The task's printed line in its log tail.
	taskID := u.runningTask(long)
	b.run("log tail", long,
		chromedp.Navigate(master+"/ui/#/tasks/"+taskID),
		waitJS(logTailReady, long),
	)
	b.checkConsole("task")
	b.shot("task")
	b.run("tasks", long,
		chromedp.Navigate(master+"/ui/#/tasks"),
		waitJS(rowReady("tasks-table", taskID), long),
	)
	b.checkConsole("tasks")
	b.shot("tasks")

	// Scale to 2, then delete.
	b.run("scale", long,
		chromedp.Navigate(master+"/ui/#/apps"),
		waitJS(`document.querySelector('#apps-table tr[data-id="ui/web"] input.scale') !== null`, long),
		chromedp.SetValue(chromedp.CSS(`#apps-table tr[data-id="ui/web"] input.scale`), "2"),
		chromedp.Click(chromedp.CSS(`#apps-table tr[data-id="ui/web"] .scale-btn`)),
		waitJS(appRunning(2), long),
	)
	if n := len(running(c.appTasks("/ui/web"))); n != 2 {
		t.Errorf("after scaling to 2 through the UI the API says %d running", n)
	}
	b.checkConsole("apps (scaled)")
	// Delete asks for a second click.
	b.run("delete", long,
		chromedp.Click(chromedp.CSS(`#apps-table tr[data-id="ui/web"] button.danger`)),
		chromedp.Click(chromedp.CSS(`#apps-table tr[data-id="ui/web"] button.danger.armed`)),
		waitJS(`document.querySelector('#apps-table tr[data-id="ui/web"]') === null`, long),
	)
	testutil.Eventually(t, long, 200*time.Millisecond, func() bool {
		var out struct {
			Apps []struct {
				ID string `json:"id"`
			} `json:"apps"`
		}
		return c.get("/v2/apps", &out) == nil && len(out.Apps) == 0
	}, "the app deleted in the API")
	b.checkConsole("apps (deleted)")

	// Agents and one host: the chart has points; an override set on the
	// page is what the agent applies.
	b.run("agents", long,
		chromedp.Navigate(master+"/ui/#/agents"),
		waitJS(rowReady("agents-table", agentID), long),
	)
	b.checkConsole("agents")
	b.shot("agents")
	b.run("host", long,
		chromedp.Navigate(master+"/ui/#/agents/"+agentID),
		waitJS(hostChartReady, long),
		waitJS(`document.querySelector('#applied-now') !== null`, long),
		chromedp.SetValue(chromedp.CSS("#override-mode"), "fixed"),
		chromedp.SetValue(chromedp.CSS("#override-cpus"), "0.7"),
		chromedp.SetValue(chromedp.CSS("#override-mem"), "768"),
		chromedp.Click(chromedp.CSS("#override-set")),
		waitJS(`document.querySelector('#applied-now') && document.querySelector('#applied-now').textContent.startsWith('0.70 CPU')`, long),
	)
	var state struct {
		Applied struct {
			CPUs     float64 `json:"cpus"`
			MemBytes int64   `json:"mem_bytes"`
		} `json:"applied"`
		Override *struct {
			Mode string `json:"mode"`
		} `json:"override"`
	}
	agentAPI, _ := agentproto.NewClient("http://"+agentAddr, c.read(c.agentTokenFile))
	if err := agentAPI.Do(context.Background(), http.MethodGet, "/api/v1/state", nil, &state); err != nil {
		t.Fatal(err)
	}
	if state.Applied.CPUs != 0.7 || state.Applied.MemBytes != 768<<20 || state.Override == nil || state.Override.Mode != "fixed" {
		t.Errorf("the agent applies %+v (override %+v), want the fixed 0.7 CPU and 768 MiB set on the host page", state.Applied, state.Override)
	}
	b.checkConsole("host")
	b.shot("host")

	// Jobs: run one now; the run shows in its history.
	b.run("jobs", long,
		chromedp.Navigate(master+"/ui/#/jobs"),
		waitJS(jobsReady, long),
		chromedp.Click(chromedp.CSS(`fieldset.job button.primary`)),
		waitJS(`document.querySelector('fieldset.job table.runs tr[data-run]') !== null`, long),
	)
	b.checkConsole("jobs")
	b.shot("jobs")

	// Frameworks, last: the external framework subscribed here keeps the
	// offer it gets, which holds the agent's capacity. Its row counts
	// that offer; the master's own frameworks have theirs.
	holder := u.subscribeHolder("ui-holder", long)
	b.run("frameworks", long,
		chromedp.Navigate(master+"/ui/#/frameworks"),
		waitJS(frameworksReady, long),
		waitJS(`(() => { const c = document.querySelector('#frameworks-table tr[data-id="`+holder+`"] td.offers-outstanding'); return c !== null && c.textContent === '1'; })()`, long),
	)
	b.checkConsole("frameworks")
	b.shot("frameworks")

	// Screenshots for the documentation (HEADROOM_UI_SCREENSHOTS set): the
	// charts again once they have a few minutes of points.
	if os.Getenv("HEADROOM_UI_SCREENSHOTS") != "" {
		b.run("host for the docs", 10*time.Minute,
			chromedp.Navigate(master+"/ui/#/agents/"+agentID),
			waitJS(`document.querySelector('#host-cpu') && document.querySelector('#host-cpu').dataset.points >= 6`, 9*time.Minute))
		b.shot("host")
		b.run("overview for the docs", long, chromedp.Navigate(master+"/ui/"),
			waitJS(`document.querySelector('#cluster-cpu') && document.querySelector('#cluster-cpu').dataset.points >= 6`, long))
		b.shot("overview")
	}

	// Without a token the pages say what is missing, with no script error.
	b.run("logout", long,
		chromedp.Click(chromedp.CSS("#login-clear")),
		waitJS(loggedOutReady, long),
	)
	b.checkConsole("logged out")
}
