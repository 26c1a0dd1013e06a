// Package apps is the master's built-in framework for long-running
// applications, a compact Marathon: users post app definitions in
// Marathon's /v2/apps JSON, and the scheduler keeps the requested number of
// instances running on the resources the master's allocator offers it.
//
// The package is a pure state machine. It starts no goroutines, reads no
// clock and does no network I/O: every call takes the current time, and
// every decision comes back as a value (tasks to launch, offers to
// decline, task ids to kill, health checks to run). The master owns the
// loop, the clock, persistence of app definitions and the goroutines that
// run health probes; probe.go, the one exception, holds the probe code the
// master runs on those goroutines. Being pure makes every scenario a plain
// table of calls in the tests, with times passed explicitly.
//
// Life cycle of an app. CreateApp validates the definition (a
// *ValidationError carries Marathon's 422 details), gives it a version and
// starts a deployment. While an app has fewer tasks of its current version
// than instances, WantsOffers is true and the master revives offers.
// Offers places the missing instances: apps in id order, each instance on
// the first offer whose pool fits (revocable apps use harvested capacity,
// others the dedicated pool) and whose agent satisfies the app's
// constraints, counting tasks placed in the same call. Tasks are created in
// TASK_STAGING and count toward instances at once, so an instance slot is
// never filled twice while a launch is in flight.
//
// Status updates (Update) move tasks through their states. A task that
// ends without us asking is a failure: its slot is refilled after a
// backoff that grows with consecutive failures, and a task that had been
// healthy or ran long resets the count. Tasks we killed (scale-down,
// replacement, deletion) free their slot without any backoff. An
// unreachable task frees its slot too, so a replacement launches; if the
// task comes back the youngest surplus task is killed. After a master
// failover Restore reloads the definitions and agents re-report their
// tasks: unknown task ids of known apps are adopted, never launched again;
// tasks of unknown or deleted apps are killed.
//
// Changes. Scaling changes instances only: new tasks launch or the
// youngest surplus tasks are killed. Any other change (UpdateApp with a
// new definition, Restart) makes a new version; new-version tasks launch
// beside the old ones and each old task is killed as one new task becomes
// ready (running, and healthy when the app has health checks), so serving
// capacity never drops below instances. A deployment ends on the Tick at
// which exactly instances current-version tasks are ready and no old ones
// are left. DeleteApp removes the app at once and returns every task to
// kill; late updates of those tasks are ignored.
//
// Health. DueProbes and DueCommands hand out the checks whose interval has
// elapsed; results come back through HealthCheckResult. Failures within a
// task's grace period are ignored until it has been healthy once; after
// maxConsecutiveFailures counted failures Tick kills the task, which is
// replaced. AttributesChanged re-checks the constraints of the tasks on an
// agent whose attributes changed and kills those that no longer fit.
//
// Constraints. GROUP_BY spreads over the values of every agent seen in
// offers and updates; the master calls ForgetAgent when it removes an agent
// for good, so a vanished rack does not hold placement back forever.
//
// Reasons. An app short of instances says why in AppStatus.Reason, kept
// with the time it first held: Offers explains the offers it could not
// use, NoOffers (a cycle without offers) each agent's free capacity, both
// through framework.Explain, which the jobs scheduler shares; an app
// backing off says until when, after how many failures, and what the last
// failure was ("last fetch failed: ..." when the fetcher failed).
package apps
