package bidi

import (
	"context"
	"encoding/json"
	"fmt"
	"time"
)

// TopContext is the id of the browser's first top-level browsing
// context: the tab it opened at start.
func (b *Browser) TopContext(ctx context.Context) (string, error) {
	var tree struct {
		Contexts []struct {
			Context string `json:"context"`
		} `json:"contexts"`
	}
	if err := b.Call(ctx, "browsingContext.getTree", map[string]any{"maxDepth": 0}, &tree); err != nil {
		return "", err
	}
	if len(tree.Contexts) == 0 {
		return "", fmt.Errorf("browsingContext.getTree: no top-level context")
	}
	return tree.Contexts[0].Context, nil
}

// Navigate loads url in the browsing context and waits for the document
// to be complete (a change of the fragment only needs no load).
func (b *Browser) Navigate(ctx context.Context, browsingContext, url string) error {
	return b.Call(ctx, "browsingContext.navigate", map[string]any{
		"context": browsingContext, "url": url, "wait": "complete"}, nil)
}

// ExceptionError is an expression that threw.
type ExceptionError struct {
	Expression, Text string
}

func (e *ExceptionError) Error() string {
	return fmt.Sprintf("evaluating %q threw: %s", e.Expression, e.Text)
}

// Evaluate runs a JavaScript expression in the browsing context's page,
// awaiting it when it is a promise, and returns its serialized value
// (https://w3c.github.io/webdriver-bidi/#type-script-RemoteValue). An
// expression that throws is an *ExceptionError.
func (b *Browser) Evaluate(ctx context.Context, browsingContext, expr string) (json.RawMessage, error) {
	var out struct {
		Type             string          `json:"type"`
		Result           json.RawMessage `json:"result"`
		ExceptionDetails struct {
			Text string `json:"text"`
		} `json:"exceptionDetails"`
	}
	err := b.Call(ctx, "script.evaluate", map[string]any{
		"expression": expr, "target": map[string]any{"context": browsingContext}, "awaitPromise": true}, &out)
	if err != nil {
		return nil, err
	}
	if out.Type == "exception" {
		return nil, &ExceptionError{Expression: expr, Text: out.ExceptionDetails.Text}
	}
	return out.Result, nil
}

// WaitTrue evaluates expr every interval until it is true, for as long
// as ctx allows; the error says what it last was.
func (b *Browser) WaitTrue(ctx context.Context, browsingContext, expr string, interval time.Duration) error {
	last := "never evaluated"
	for {
		v, err := b.Evaluate(ctx, browsingContext, "Boolean("+expr+")")
		var got struct {
			Value bool `json:"value"`
		}
		switch {
		case err == nil && json.Unmarshal(v, &got) == nil && got.Value:
			return nil
		case err != nil:
			last = err.Error()
		default:
			last = "false"
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("waiting for %s (last: %s): %w", expr, last, ctx.Err())
		case <-time.After(interval):
		}
	}
}
