// Package testutil holds the helpers every headroom test suite shares: the
// rule for tests that need root, cgroups or a Debian tool (run in CI, skip
// with a reason elsewhere), and small waiting helpers.
package testutil
