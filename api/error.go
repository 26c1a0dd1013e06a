package api

// Error is the body of every 4xx and 5xx answer of every headroom API.
type Error struct {
	Message string `json:"message"`
	Details any    `json:"details,omitempty"`
}
