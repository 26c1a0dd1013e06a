package jobs

import (
	"errors"
	"strings"
	"testing"
)

// TestDecodeDefaults: absent fields get their defaults, explicit ones
// stay, and a round trip through JSON changes nothing.
func TestDecodeDefaults(t *testing.T) {
	j, err := DecodeJob(strings.NewReader(`{"id":"backup.db","run":{"cmd":"backup","cpus":0.5},
		"schedules":[{"id":"nightly","cron":"0 3 * * *","timezone":"Europe/Paris"}, {"id":"off","cron":"@hourly","enabled":false,"concurrencyPolicy":"FORBID"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	if err := j.Validate(); err != nil {
		t.Fatal(err)
	}
	if j.Run.CPUs != 0.5 || j.Run.Mem != DefaultMem || !j.Run.Revocable || j.Run.BackoffFactor != DefaultBackoffFactor {
		t.Errorf("run: %+v", j.Run)
	}
	s0, s1 := j.Schedules[0], j.Schedules[1]
	if s0.ConcurrencyPolicy != Allow || s0.StartingDeadlineSeconds != DefaultStartingDeadlineSeconds || !s0.Enabled || s0.Timezone != "Europe/Paris" {
		t.Errorf("schedule 0: %+v", s0)
	}
	if s1.Enabled || s1.ConcurrencyPolicy != Forbid || s1.Timezone != DefaultTimezone {
		t.Errorf("schedule 1: %+v", s1)
	}
	back := roundTrip(t, j)
	if back.Run.CPUs != j.Run.CPUs || len(back.Schedules) != 2 || back.Schedules[1].Enabled {
		t.Errorf("round trip: %+v", back)
	}
	noRun, err := DecodeJob(strings.NewReader(`{"id":"x"}`))
	if err != nil || noRun.Run.CPUs != DefaultCPUs || noRun.Schedules != nil {
		t.Errorf("a job without run: %+v, %v", noRun, err)
	}
	sc, err := DecodeSchedule(strings.NewReader(`{"cron":"* * * * *"}`), DefaultScheduleID)
	if err != nil || sc.ID != DefaultScheduleID || sc.Validate() != nil {
		t.Errorf("a bare schedule: %+v, %v", sc, err)
	}
}

// TestDecodeErrorsNameTheField: malformed input is refused with the path
// of the offending field.
func TestDecodeErrorsNameTheField(t *testing.T) {
	cases := []struct{ body, want string }{
		{`{"id":"a","bogus":1}`, `invalid job: bogus: unknown field; run.cmd: exactly one of cmd and args must be set`},
		{`{"id":"a","run":{"cmd":"x","bogus":1}}`, `invalid job: run.bogus: unknown field`},
		{`{"id":"a","run":{"cmd":"x"},"schedules":[{"id":"a","cron":"* * * * *"},{"id":"b","cron":"* * * * *","bogus":1}]}`, `invalid job: schedules[1].bogus: unknown field`},
		{`{"id":"a","run":{"cpus":"two"}}`, `run.cpus: got a string, want a number`},
		{`{"id":"a","schedules":[{"startingDeadlineSeconds":1.5}]}`, `schedules[0].startingDeadlineSeconds: got 1.5, want a whole number`},
		{`{"id":7}`, `id: got a number, want a string`},
		{`{"id":"a",`, `malformed JSON`},
		{`{"id":"a"} {}`, `trailing data`},
		{``, `empty body`},
		{`[1]`, `invalid job: the body: must be a JSON object`},
	}
	for _, tc := range cases {
		_, err := DecodeJob(strings.NewReader(tc.body))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("DecodeJob(%s) = %v, want an error with %q", tc.body, err, tc.want)
		}
	}
}

// TestValidateNamesTheField: every invalid value is reported with its
// path.
func TestValidateNamesTheField(t *testing.T) {
	cases := []struct{ body, path string }{
		{`{"run":{"cmd":"x"}}`, "id"},
		{`{"id":"../etc","run":{"cmd":"x"}}`, "id"},
		{`{"id":"a/b","run":{"cmd":"x"}}`, "id"},
		{`{"id":"a..b","run":{"cmd":"x"}}`, "id"},
		{`{"id":"Upper","run":{"cmd":"x"}}`, "id"},
		{`{"id":"a_b","run":{"cmd":"x"}}`, "id"},
		{`{"id":"` + strings.Repeat("a", 101) + `","run":{"cmd":"x"}}`, "id"},
		{`{"id":"a","run":{}}`, "run.cmd"},
		{`{"id":"a","run":{"cmd":"x","args":["y"]}}`, "run.cmd"},
		{`{"id":"a","run":{"cmd":"x","cpus":-1}}`, "run.cpus"},
		{`{"id":"a","run":{"cmd":"x","cpus":0}}`, "run.cpus"},
		{`{"id":"a","run":{"cmd":"x","cpus":1e9}}`, "run.cpus"},
		{`{"id":"a","run":{"cmd":"x","mem":-5}}`, "run.mem"},
		{`{"id":"a","run":{"cmd":"x","mem":1e300}}`, "run.mem"},
		{`{"id":"a","run":{"cmd":"x","disk":-1}}`, "run.disk"},
		{`{"id":"a","run":{"cmd":"x","maxRetries":-1}}`, "run.maxRetries"},
		{`{"id":"a","run":{"cmd":"x","maxRetries":1000000}}`, "run.maxRetries"},
		{`{"id":"a","run":{"cmd":"x","backoffSeconds":-1}}`, "run.backoffSeconds"},
		{`{"id":"a","run":{"cmd":"x","backoffFactor":0.5}}`, "run.backoffFactor"},
		{`{"id":"a","run":{"cmd":"x","maxBackoffSeconds":1e12}}`, "run.maxBackoffSeconds"},
		{`{"id":"a","run":{"cmd":"x","timeoutSeconds":-3}}`, "run.timeoutSeconds"},
		{`{"id":"a","run":{"cmd":"x","env":{"A B":"1"}}}`, "run.env.A B"},
		{`{"id":"a","run":{"cmd":"x","fetch":[{"uri":"ftp://x"}]}}`, "run.fetch[0].uri"},
		{`{"id":"a","run":{"cmd":"x","fetch":[{"uri":"/x","destPath":"../y"}]}}`, "run.fetch[0].destPath"},
		{`{"id":"a","run":{"cmd":"x","constraints":[["hostname","SOMETIMES"]]}}`, "run.constraints[0]"},
		{`{"id":"a","run":{"cmd":"x"},"schedules":[{"cron":"nope"}]}`, "schedules[0].cron"},
		{`{"id":"a","run":{"cmd":"x"},"schedules":[{"cron":"61 * * * *"}]}`, "schedules[0].cron"},
		{`{"id":"a","run":{"cmd":"x"},"schedules":[{"cron":"CRON_TZ=UTC * * * * *"}]}`, "schedules[0].cron"},
		{`{"id":"a","run":{"cmd":"x"},"schedules":[{"cron":"* * * * *","timezone":"Nowhere/Land"}]}`, "schedules[0].timezone"},
		{`{"id":"a","run":{"cmd":"x"},"schedules":[{"cron":"* * * * *","concurrencyPolicy":"SOMETIMES"}]}`, "schedules[0].concurrencyPolicy"},
		{`{"id":"a","run":{"cmd":"x"},"schedules":[{"cron":"* * * * *","startingDeadlineSeconds":0}]}`, "schedules[0].startingDeadlineSeconds"},
		{`{"id":"a","run":{"cmd":"x"},"schedules":[{"cron":"* * * * *","startingDeadlineSeconds":-5}]}`, "schedules[0].startingDeadlineSeconds"},
		{`{"id":"a","run":{"cmd":"x"},"schedules":[{"cron":"* * * * *","startingDeadlineSeconds":99999999999}]}`, "schedules[0].startingDeadlineSeconds"},
		{`{"id":"a","run":{"cmd":"x"},"schedules":[{"id":"manual","cron":"* * * * *"}]}`, "schedules[0].id"},
		{`{"id":"a","run":{"cmd":"x"},"schedules":[{"id":"../x","cron":"* * * * *"}]}`, "schedules[0].id"},
		{`{"id":"a","run":{"cmd":"x"},"schedules":[{"cron":"* * * * *"},{"cron":"0 * * * *"}]}`, "schedules[1].id"},
	}
	for _, tc := range cases {
		j, err := DecodeJob(strings.NewReader(tc.body))
		if err != nil {
			t.Errorf("DecodeJob(%s): %v", tc.body, err)
			continue
		}
		err = j.Validate()
		var ve *ValidationError
		if !errors.As(err, &ve) {
			t.Errorf("Validate(%s) = %v, want a ValidationError", tc.body, err)
			continue
		}
		found := false
		for _, d := range ve.Details {
			if d.Path == tc.path && len(d.Errors) > 0 {
				found = true
			}
		}
		if !found {
			t.Errorf("Validate(%s) = %v, want a detail for %s", tc.body, err, tc.path)
		}
	}
}

// TestDecodeReportsEveryField: a definition with several mistakes gets
// them all in one answer, decoding problems and invalid values together.
func TestDecodeReportsEveryField(t *testing.T) {
	cases := map[string]string{
		`{"id":"Bad","run":{"cpu":1,"mem":-1},"schedules":[{"id":"n","cron":"61 * * * *","bogus":true}]}`: `invalid job: run.cpu: unknown field; schedules[0].bogus: unknown field; ` +
			`id: must be at most 100 characters: dot-separated segments of lower-case letters, digits and inner dashes, got "Bad"; ` +
			`run.cmd: exactly one of cmd and args must be set; run.mem: must be > 0 and <= 1073741824 MiB, got -1; ` +
			`schedules[0].cron: schedule "61 * * * *": minute 61 out of range 0-59`,
		`{"id":"a","run":{"cmd":"x","cpus":"two","mem":"lots"}}`: `invalid job: run.cpus: got a string, want a number; run.mem: got a string, want a number`,
	}
	for body, want := range cases {
		_, err := DecodeJob(strings.NewReader(body))
		if err == nil || err.Error() != want {
			t.Errorf("DecodeJob(%s)\n = %v\nwant %s", body, err, want)
		}
		var ve *ValidationError
		if !errors.As(err, &ve) {
			t.Errorf("DecodeJob(%s): %T, want a *ValidationError", body, err)
		}
	}
}
