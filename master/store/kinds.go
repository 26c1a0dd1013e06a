package store

import (
	"context"
	"fmt"
	"net/url"

	clientv3 "go.etcd.io/etcd/client/v3"
)

// Kind is one type of document the master keeps. Every kind is listed
// here, with its key layout and the Go type its documents decode into:
//
//	kind        key under the prefix          document
//	agents      agents/<agent id>             master.agentRecord: id, hostname, URL, effective attributes, the credential bound to it
//	apps        apps/<app id>                 apps.App: the definition as last accepted
//	attributes  attributes/<hostname>         map[string]string: the dynamic attributes of one hostname
//	frameworks  frameworks/<framework id>     master.frameworkRecord: a subscription, enough to recognise it again
//	jobs        jobs/<job id>                 jobs.Record: a job's definition
//	jobstate    jobstate/<job id>             jobs.State: a job's runs and the last cron time handled per schedule
//
// An id becomes one key segment path-escaped (Key), since app ids hold
// slashes and hostnames may hold colons; the ids of the other kinds are
// in a charset that escaping leaves as it is, so their keys are the ids.
// Docs reads and writes a kind by id, so no caller builds a key.
type Kind string

// The master's kinds.
const (
	Agents     Kind = "agents"
	Apps       Kind = "apps"
	Attributes Kind = "attributes"
	Frameworks Kind = "frameworks"
	Jobs       Kind = "jobs"
	JobState   Kind = "jobstate"
)

// Kinds lists every kind the master keeps, in key order.
func Kinds() []Kind { return []Kind{Agents, Apps, Attributes, Frameworks, Jobs, JobState} }

// Key is the key segment of document id.
func (k Kind) Key(id string) string { return url.PathEscape(id) }

// ID is the id of the document at key segment key.
func (k Kind) ID(key string) (string, error) {
	id, err := url.PathUnescape(key)
	if err != nil {
		return "", fmt.Errorf("store: %s key %q: %w", k, key, err)
	}
	return id, nil
}

// Docs is the store seen through one kind: ids in, ids out.
type Docs struct {
	s    *Store
	kind Kind
}

// Docs returns the documents of kind k.
func (s *Store) Docs(k Kind) Docs { return Docs{s: s, kind: k} }

// Put stores v as JSON under id, as Store.Put.
func (d Docs) Put(ctx context.Context, id string, v any, guards ...clientv3.Cmp) error {
	return d.s.Put(ctx, string(d.kind), d.kind.Key(id), v, guards...)
}

// Get decodes the document id into v, as Store.Get.
func (d Docs) Get(ctx context.Context, id string, v any) (found bool, err error) {
	return d.s.Get(ctx, string(d.kind), d.kind.Key(id), v)
}

// Delete removes the document id, as Store.Delete.
func (d Docs) Delete(ctx context.Context, id string, guards ...clientv3.Cmp) error {
	return d.s.Delete(ctx, string(d.kind), d.kind.Key(id), guards...)
}

// List calls fn for every document with its id, as Store.List.
func (d Docs) List(ctx context.Context, fn func(id string, raw []byte) error) error {
	_, err := d.ListRev(ctx, fn)
	return err
}

// ListRev is List with the revision the listing is consistent with, as
// Store.ListRev. A key that is not an escaped id is an error naming it.
func (d Docs) ListRev(ctx context.Context, fn func(id string, raw []byte) error) (int64, error) {
	return d.s.ListRev(ctx, string(d.kind), func(key string, raw []byte) error {
		id, err := d.kind.ID(key)
		if err != nil {
			return err
		}
		return fn(id, raw)
	})
}

// Watch streams the kind's changes with their ids, as Store.Watch. An
// event whose key is not an escaped id is skipped: nothing this package
// wrote, and no id to give it.
func (d Docs) Watch(ctx context.Context, fromRev int64) <-chan Event {
	in := d.s.Watch(ctx, string(d.kind), fromRev)
	out := make(chan Event)
	go func() { // owned by the watch: ends when in closes (ctx done or a terminal event)
		defer close(out)
		for ev := range in {
			if ev.Err == nil {
				id, err := d.kind.ID(ev.ID)
				if err != nil {
					continue
				}
				ev.ID = id
			}
			select {
			case out <- ev:
			case <-ctx.Done():
				// in closes once ctx is done; drain it so its sender ends.
				for range in {
				}
				return
			}
		}
	}()
	return out
}
