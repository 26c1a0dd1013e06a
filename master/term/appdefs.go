package term

// The app definitions' writes: the overlay of a partial definition that
// PutApp applies, and the store write of every change.

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"

	"github.com/headroom-dev/headroom/master/apps"
	"github.com/headroom-dev/headroom/master/store"
)

// persistApp stores an app's definition under the leader's guard.
func (t *Term) persistApp(ctx context.Context, app apps.App) error {
	ctx, cancel := t.storeCtx(ctx)
	defer cancel()
	if err := t.cfg.Store.Docs(store.Apps).Put(ctx, app.ID, app, t.cfg.Guard()); err != nil {
		return fmt.Errorf("%w: %w", errStore, err)
	}
	return nil
}

// overlay applies a partial JSON definition (PUT {"instances": 5}) over
// the current one, as Marathon does.
//
// The body must be an object naming at least one field: null or {} would
// otherwise roll out the current definition again as a new deployment (or
// create an app of defaults).
func overlay(cur apps.App, patch []byte) (apps.App, error) {
	if body := bytes.TrimSpace(patch); len(body) == 0 || body[0] != '{' {
		return apps.App{}, emptyBody("must be a JSON object of the fields to set, got " + truncateBody(body))
	}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(patch, &fields); err != nil {
		return apps.App{}, fmt.Errorf("malformed JSON: %w", err)
	}
	if len(fields) == 0 {
		return apps.App{}, emptyBody("must set at least one field, got {}")
	}
	base, err := json.Marshal(cur)
	if err != nil {
		return apps.App{}, err
	}
	var merged map[string]json.RawMessage
	if err := json.Unmarshal(base, &merged); err != nil {
		return apps.App{}, err
	}
	for k, v := range fields {
		merged[k] = v
	}
	delete(merged, "version")
	out, err := json.Marshal(merged)
	if err != nil {
		return apps.App{}, err
	}
	return apps.DecodeApp(bytes.NewReader(out))
}

// emptyBody is the validation error of a body that sets nothing.
func emptyBody(msg string) error {
	return &apps.ValidationError{Message: "Object is not valid", Details: []apps.FieldError{{Path: "/", Errors: []string{msg}}}}
}

// truncateBody quotes the start of a body for an error message.
func truncateBody(b []byte) string {
	if len(b) == 0 {
		return "an empty body"
	}
	if len(b) > 40 {
		return fmt.Sprintf("%q...", b[:40])
	}
	return fmt.Sprintf("%q", b)
}
