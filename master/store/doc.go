// Package store is the headroom master's durable state and leader
// election, both kept in etcd.
//
// A master either embeds a single-node etcd (Config.DataDir, the default
// for a one-master setup and for tests) or connects to an existing etcd
// cluster (Config.Endpoints) shared by several masters, of which one leads
// and the others stand by. The embedded etcd has no authentication, so its
// clients reach it only through a unix socket in its 0700 data directory.
// Either way the rest of the master sees the same Store: JSON documents
// addressed by kind and id, watches over a kind, and elections.
//
// # Key layout
//
// Every key starts with Config.Prefix (default "/headroom/"), so several
// headroom installations, or other applications, can share one etcd. A
// document lives at
//
//	<prefix><kind>/<id>          e.g. /headroom/agents/a-17
//
// and holds JSON. kind and id may not contain "/", which keeps a kind's
// documents exactly the keys under "<prefix><kind>/" and makes List and
// Watch a single prefix range. kinds.go lists every kind the master keeps
// (Kind), with its key layout and document type; Store.Docs reads and
// writes one kind by id, escaping the id into its key segment. Kinds starting with "_" are reserved for
// this package; elections live at
//
//	<prefix>_election/<name>/<lease id in hex>
//
// one key per candidate, attached to the candidate's session lease and
// holding its ID (its advertised URL). The key with the lowest creation
// revision is the leader; the others queue behind it in creation order
// (etcd's concurrency.Election).
//
// List pages through a kind (500 keys per request) at one fixed revision,
// so even tens of thousands of documents come back as one consistent
// snapshot without one huge response. ListRev also returns that revision:
// Watch from revision+1 then continues without gap or duplicate, and when a
// watch fails (typically because its revision was compacted away; the
// embedded etcd keeps one hour of history) the caller lists again.
//
// # Why writes carry guards
//
// Leadership observed by a process is always slightly stale: a leader
// paused by GC, a slow disk or a network partition can go on believing it
// leads after its lease has expired and a standby has taken over. If it
// then wrote, it would overwrite its successor's decisions. Election.Guard
// returns a clientv3.Cmp on the leader's own election key (its creation
// revision), and Put and Delete evaluate it in the same etcd transaction as
// the write. etcd orders transactions linearizably, so a write either
// happens while the key still exists, i.e. while no one else can lead, or
// fails with ErrNotLeader. Every state change the leader makes should be
// guarded; unguarded writes are for data that is not leader-owned.
//
// # Failover timing
//
// A candidate's key is bound to a lease of ElectionConfig.TTL seconds
// (default 5) that its session keeps alive roughly every TTL/3. A leader
// that stops cleanly (Run's context cancelled) resigns and revokes its
// lease, so the next candidate is elected within a round trip. A leader
// that crashes or is cut off from etcd keeps its key until the lease
// expires, so a standby takes over between TTL and TTL plus one keepalive
// interval later, plus etcd's own leader election if the etcd member it
// used died. On the deposed side the client's keepalive deadline passes at
// about the same time and the leader context is cancelled; the guards cover
// the window in which both sides may believe they lead. A smaller TTL
// means faster failover but more keepalive traffic and more spurious
// failovers on a slow network or an overloaded etcd.
package store
