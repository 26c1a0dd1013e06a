// Package jobs is the master's built-in framework for periodic jobs, a
// compact Metronome: users post job definitions to /v1/jobs (what to run,
// with retries) with cron schedules, and the scheduler starts runs at the
// scheduled times on the resources the master's allocator offers it.
//
// Like master/apps, the package is a pure state machine. It starts no
// goroutines, reads no clock and does no I/O: every call takes the
// current time, and every decision comes back as a value (tasks to
// launch, offers to decline, task ids to kill, states to store). The
// master owns the loop, the clock and the store. Being pure makes every
// scenario, daylight saving changes and failovers included, a plain table
// of calls in the tests, with times passed explicitly.
//
// Schedules. A schedule is a 5-field cron expression read in an IANA time
// zone (robfig/cron parses it; a CRON_TZ= prefix is refused so the zone
// has one place). Tick starts a run when a schedule's time has come. A
// time not started within the schedule's startingDeadlineSeconds is
// recorded as MISSED; after an outage only the latest due time starts, so
// a backlog never turns into a burst. The concurrency policy decides what
// a due time does while a run of the job is active: ALLOW starts another
// run, FORBID records a SKIPPED entry, REPLACE kills the active runs and
// starts the new one. Schedules with fixed hours fire once per wall-clock
// time across daylight saving changes (a time in the spring-forward gap
// fires just after the jump, the repeated autumn hour fires once), while
// schedules over every hour follow elapsed time.
//
// Runs. A run is ACTIVE until it ends as SUCCESS (its task finished),
// FAILED (no retries left, or no resources before the starting deadline)
// or KILLED (stopped, replaced, or its job deleted). A failed attempt is
// retried after an exponential backoff while the run spec's maxRetries
// allow. Each job keeps its active runs, the last finished ones
// (SKIPPED and MISSED entries included) and lifetime counts.
//
// Never twice. The scheduler counts changes of each job's state (the
// last cron time handled per schedule, the active runs with their task
// ids, the history) and Unsaved hands the changed states to the master,
// which stores them and confirms with Saved. A run's task launches only
// once the store holds the state that names it. A new leader therefore
// finds every cron time it must not start again, and every task that
// may be running: Restore reloads them, agents re-report their tasks,
// which are adopted into their runs, and the first Tick gives a new task
// to each restored run whose task nobody reported. Times missed while no
// master led are started on that Tick if still within their deadline.
//
// Definitions are written the other way round: Plan validates and
// returns the record to store, and the master applies it with Apply once
// the store has it, so an acknowledged job survives a failover and a
// refused one changes nothing.
//
// An active run without a launched task says why in Run.Reason (backoff,
// state not stored yet, a restored task not yet re-reported, or what
// framework.Explain finds in the offers or the agents' free capacity). It is
// derived each cycle and added to the views only, never stored.
package jobs
