// Package dirlock takes an exclusive, advisory lock on a directory (flock
// on a "lock" file inside it) so that two headroom processes never share a
// master's data dir or an agent's work dir. The kernel drops the lock when
// the holder exits, however it exits, so a crash never leaves a stale lock;
// the file keeps the holder's pid to name it in the error of the next one.
package dirlock
