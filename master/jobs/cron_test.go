package jobs

import (
	"strings"
	"testing"
	"time"
)

func utc(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return t.UTC()
}

// TestCronNextAcrossDST walks schedules across New York's 2024 changes
// (10 March 02:00 EST -> 03:00 EDT, 3 November 02:00 EDT -> 01:00 EST)
// and Paris's, listing the instants they fire at.
func TestCronNextAcrossDST(t *testing.T) {
	cases := []struct {
		name, expr, tz, from string
		want                 []string
	}{
		{
			name: "fixed time in the spring-forward gap fires after the jump, once",
			expr: "30 2 * * *", tz: "America/New_York", from: "2024-03-09T00:00:00Z",
			want: []string{
				"2024-03-09T07:30:00Z", // 02:30 EST
				"2024-03-10T07:30:00Z", // 02:30 does not exist: 03:30 EDT
				"2024-03-11T06:30:00Z", // 02:30 EDT
			},
		},
		{
			name: "fixed time in the repeated autumn hour fires once",
			expr: "30 1 * * *", tz: "America/New_York", from: "2024-11-02T12:00:00Z",
			want: []string{
				"2024-11-03T05:30:00Z", // 01:30 EDT; 01:30 EST (06:30Z) is skipped
				"2024-11-04T06:30:00Z", // 01:30 EST
			},
		},
		{
			name: "every half hour follows elapsed time through the repeated hour",
			expr: "*/30 * * * *", tz: "America/New_York", from: "2024-11-03T04:45:00Z",
			want: []string{
				"2024-11-03T05:00:00Z", // 01:00 EDT
				"2024-11-03T05:30:00Z", // 01:30 EDT
				"2024-11-03T06:00:00Z", // 01:00 EST
				"2024-11-03T06:30:00Z", // 01:30 EST
				"2024-11-03T07:00:00Z", // 02:00 EST
			},
		},
		{
			name: "every half hour skips the spring-forward gap",
			expr: "*/30 * * * *", tz: "America/New_York", from: "2024-03-10T06:15:00Z",
			want: []string{
				"2024-03-10T06:30:00Z", // 01:30 EST
				"2024-03-10T07:00:00Z", // 03:00 EDT
				"2024-03-10T07:30:00Z", // 03:30 EDT
			},
		},
		{
			name: "09:00 in Paris is 08:00Z in winter and 07:00Z in summer",
			expr: "0 9 * * *", tz: "Europe/Paris", from: "2024-03-30T12:00:00Z",
			want: []string{"2024-03-31T07:00:00Z", "2024-04-01T07:00:00Z"},
		},
		{
			name: "every minute",
			expr: "* * * * *", tz: "UTC", from: "2024-01-01T00:00:30Z",
			want: []string{"2024-01-01T00:01:00Z", "2024-01-01T00:02:00Z"},
		},
		{
			name: "descriptor",
			expr: "@daily", tz: "Asia/Tokyo", from: "2024-01-01T00:00:00Z",
			want: []string{"2024-01-01T15:00:00Z", "2024-01-02T15:00:00Z"},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c, err := parseCron(tc.expr, tc.tz)
			if err != nil {
				t.Fatal(err)
			}
			at := utc(tc.from)
			for i, w := range tc.want {
				at = c.next(at)
				if !at.Equal(utc(w)) {
					t.Fatalf("fire %d: %s, want %s", i, at.Format(time.RFC3339), w)
				}
			}
		})
	}
}

func TestParseCronErrors(t *testing.T) {
	cases := []struct {
		expr, tz, field, substr string
	}{
		{"", "UTC", "cron", "empty"},
		{"* * * *", "UTC", "cron", `schedule "* * * *": want 5 fields (minute hour day-of-month month day-of-week) or @hourly, @daily, @weekly, @monthly, @yearly, got 4 fields`},
		{"* * * * * *", "UTC", "cron", "5 fields"},
		{"61 * * * *", "UTC", "cron", `schedule "61 * * * *": minute 61 out of range 0-59`},
		{"0 24 * * *", "UTC", "cron", `schedule "0 24 * * *": hour 24 out of range 0-23`},
		{"0 0 0 * *", "UTC", "cron", `schedule "0 0 0 * *": day-of-month 0 out of range 1-31`},
		{"0 0 1 13 *", "UTC", "cron", `schedule "0 0 1 13 *": month 13 out of range 1-12`},
		{"0 0 * * 7", "UTC", "cron", `schedule "0 0 * * 7": day-of-week 7 out of range 0-6`},
		{"0 0 * * fri-mon", "UTC", "cron", `schedule "0 0 * * fri-mon": day-of-week range fri-mon is backwards: 5 is after 1`},
		{"*/99999999999999999999 * * * *", "UTC", "cron", `schedule "*/99999999999999999999 * * * *": minute step "99999999999999999999" out of range 1-60`},
		{"0 */0 * * *", "UTC", "cron", `schedule "0 */0 * * *": hour step "0" out of range 1-24`},
		{"0 x * * *", "UTC", "cron", `schedule "0 x * * *": hour "x": want a number 0-23`},
		{"0 0 1 foo *", "UTC", "cron", `schedule "0 0 1 foo *": month "foo": want a number 1-12 or a name (jan-dec)`},
		{"0,,5 * * * *", "UTC", "cron", `schedule "0,,5 * * * *": minute: empty value`},
		{"0 0 30 2 *", "UTC", "cron", "never fires"},
		{"CRON_TZ=Europe/Paris 0 9 * * *", "UTC", "cron", "timezone field"},
		{"TZ=UTC * * * * *", "UTC", "cron", "timezone field"},
		{"@every 5m", "UTC", "cron", "@every"},
		{"@fortnightly", "UTC", "cron", "5 fields"},
		{strings.Repeat("1,", 150) + "1 * * * *", "UTC", "cron", "at most"},
		{"* * * * *", "Mars/Olympus", "timezone", "unknown time zone"},
		{"* * * * *", "", "timezone", "IANA"},
		{"* * * * *", "Local", "timezone", "IANA"},
		{"* * * * *", "../../etc/passwd", "timezone", "unknown time zone"},
	}
	for _, tc := range cases {
		_, err := parseCron(tc.expr, tc.tz)
		ce, ok := err.(*cronError)
		if !ok {
			t.Errorf("parseCron(%q, %q) = %v, want a cronError", tc.expr, tc.tz, err)
			continue
		}
		if ce.field != tc.field || !strings.Contains(ce.msg, tc.substr) {
			t.Errorf("parseCron(%q, %q) = %s: %s, want field %s mentioning %q", tc.expr, tc.tz, ce.field, ce.msg, tc.field, tc.substr)
		}
	}
}

// TestCronErrorsExact: a bad field is named with its range, as a user
// sees it in the API's answer.
func TestCronErrorsExact(t *testing.T) {
	cases := map[string]string{
		"61 * * * *":        `schedule "61 * * * *": minute 61 out of range 0-59`,
		"*/1000000 * * * *": `schedule "*/1000000 * * * *": minute step "1000000" out of range 1-60`,
		"0 0 * *":           `schedule "0 0 * *": want 5 fields (minute hour day-of-month month day-of-week) or @hourly, @daily, @weekly, @monthly, @yearly, got 4 fields`,
	}
	for expr, want := range cases {
		_, err := parseCron(expr, "UTC")
		if err == nil || err.Error() != "cron: "+want {
			t.Errorf("parseCron(%q) = %v, want %q", expr, err, "cron: "+want)
		}
	}
	for _, ok := range []string{"0 9 * * 1-5", "*/15 * * * *", "5/15 * * * *", "0 0 1 */3 *", "0 0 * * SUN,sat", "0 0 1 jan-mar ?", "@daily"} {
		if _, err := parseCron(ok, "UTC"); err != nil {
			t.Errorf("parseCron(%q): %v", ok, err)
		}
	}
}
