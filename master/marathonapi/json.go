package marathonapi

import (
	"bytes"
	"encoding/json"

	"github.com/headroom-dev/headroom/api"
)

func jsonMarshal(v any) ([]byte, error) { return json.Marshal(v) }

func decodeStrictBytes(b []byte, v any) error {
	return api.DecodeStrict(bytes.NewReader(b), v, int64(len(b))+1)
}

// withID gives a document without an id the path's: Marathon's PUT
// takes the id from the path.
func withID(doc []byte, id string) []byte {
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(doc, &fields); err != nil {
		return doc // the decoder names the syntax error
	}
	if raw, ok := fields["id"]; ok && string(bytes.TrimSpace(raw)) != "null" {
		return doc
	}
	fields["id"], _ = json.Marshal("/" + id)
	out, err := json.Marshal(fields)
	if err != nil {
		return doc
	}
	return out
}

// setsFields reports whether body is a JSON object with at least one
// field.
func setsFields(body []byte) bool {
	var fields map[string]json.RawMessage
	return json.Unmarshal(body, &fields) == nil && len(fields) > 0
}

// namesCommand reports whether a body says what to run, as a definition
// that creates an app must.
func namesCommand(body []byte) bool {
	var fields map[string]json.RawMessage
	if json.Unmarshal(body, &fields) != nil {
		return true
	}
	_, cmd := fields["cmd"]
	_, args := fields["args"]
	return cmd || args
}
