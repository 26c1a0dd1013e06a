package scheduler

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strings"

	"github.com/google/uuid"

	"github.com/headroom-dev/headroom/api"
	"github.com/headroom-dev/headroom/api/recordio"
)

// Media types of the scheduler API.
const (
	MediaJSON     = "application/json"
	MediaRecordIO = "application/recordio"
	MediaNDJSON   = "application/x-ndjson"
	MediaProtobuf = "application/x-protobuf"
)

// MessageContentTypeHeader and MessageAcceptHeader name the type of the
// records inside a RecordIO stream, as Mesos's streaming calls do.
const (
	MessageContentTypeHeader = "Message-Content-Type"
	MessageAcceptHeader      = "Message-Accept"
)

// ErrUnsupportedMedia is a request body in a type the API does not read
// (protobuf): answered 415.
var ErrUnsupportedMedia = errors.New("unsupported media type")

// ErrNotAcceptable is a request that accepts no type the API writes:
// answered 406.
var ErrNotAcceptable = errors.New("not acceptable")

// CheckContentType says whether a call's body, of the given Content-Type,
// can be read: JSON (or no type, as curl sends) can, protobuf and the
// rest cannot, and the error says what to send instead.
func CheckContentType(contentType string) error {
	if contentType == "" {
		return nil
	}
	mt, _, err := mime.ParseMediaType(contentType)
	if err != nil {
		return fmt.Errorf("%w: Content-Type %q: %v", ErrUnsupportedMedia, contentType, err)
	}
	switch mt {
	case MediaJSON, "text/json":
		return nil
	case MediaProtobuf:
		return fmt.Errorf("%w: Content-Type %s: headroom reads calls as JSON only; send Content-Type %s (mesos-go: the JSON codec)",
			ErrUnsupportedMedia, mt, MediaJSON)
	}
	return fmt.Errorf("%w: Content-Type %s: send %s", ErrUnsupportedMedia, mt, MediaJSON)
}

// Framing is how a subscription's events are delimited.
type Framing int

// Framings. RecordIO is Mesos's and the default; NDJSON (one event per
// line) is headroom's own, used only when a client asks for it.
const (
	FramingRecordIO Framing = iota
	FramingNDJSON
)

// Frame returns one encoded event framed for the stream.
func (f Framing) Frame(event []byte) []byte {
	if f == FramingNDJSON {
		out := make([]byte, 0, len(event)+1)
		return append(append(out, event...), '\n')
	}
	return recordio.Frame(event)
}

// Stream is the answer's framing and headers, from NegotiateStream.
type Stream struct {
	Framing Framing
	// ContentType and MessageContentType (empty when not sent) are the
	// answer's headers.
	ContentType        string
	MessageContentType string
}

// SetHeaders sets the answer's content type headers.
func (s Stream) SetHeaders(h http.Header) {
	h.Set("Content-Type", s.ContentType)
	if s.MessageContentType != "" {
		h.Set(MessageContentTypeHeader, s.MessageContentType)
	}
}

// Frame frames one encoded event; a trailing newline (the master queues
// events as lines) is not part of the record.
func (s Stream) Frame(event []byte) []byte {
	return s.Framing.Frame(bytes.TrimSuffix(event, []byte("\n")))
}

// NegotiateStream picks a SUBSCRIBE answer's framing from the request's
// Accept and Message-Accept headers, as Mesos does: Accept
// application/json (or none, or */*) gets RecordIO-framed JSON under
// Content-Type application/json; Accept application/recordio gets the
// same framing under its own type with Message-Content-Type
// application/json; only an explicit application/x-ndjson gets one event
// per line. A client that accepts protobuf only is refused.
func NegotiateStream(accept, messageAccept string) (Stream, error) {
	types := acceptList(accept)
	if len(types) == 0 {
		return Stream{Framing: FramingRecordIO, ContentType: MediaJSON}, nil
	}
	for _, t := range types {
		switch t {
		case MediaNDJSON:
			return Stream{Framing: FramingNDJSON, ContentType: MediaNDJSON}, nil
		case MediaJSON, "*/*", "application/*":
			return Stream{Framing: FramingRecordIO, ContentType: MediaJSON}, nil
		case MediaRecordIO:
			msg := acceptList(messageAccept)
			if len(msg) == 0 || acceptsAny(msg, MediaJSON, "*/*", "application/*") {
				return Stream{Framing: FramingRecordIO, ContentType: MediaRecordIO, MessageContentType: MediaJSON}, nil
			}
		}
	}
	return Stream{}, fmt.Errorf("%w: Accept %q (Message-Accept %q): headroom writes events as JSON, framed by RecordIO (%s or %s) or one per line (%s)",
		ErrNotAcceptable, accept, messageAccept, MediaJSON, MediaRecordIO, MediaNDJSON)
}

// acceptList returns the media types of an Accept header, in order,
// leaving out those with q=0.
func acceptList(h string) []string {
	var out []string
	for _, part := range strings.Split(h, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		mt, params, err := mime.ParseMediaType(part)
		if err != nil {
			continue
		}
		if q, ok := params["q"]; ok && strings.Trim(q, "0.") == "" {
			continue
		}
		out = append(out, mt)
	}
	return out
}

func acceptsAny(list []string, want ...string) bool {
	for _, t := range list {
		for _, w := range want {
			if t == w {
				return true
			}
		}
	}
	return false
}

// DecodeCall reads one call as Mesos's JSON-to-protobuf parsing does:
// fields headroom does not know and nulls are left out and passed to
// report for the log; a value of the wrong type or malformed JSON is an
// error naming the field. Validate the call afterwards.
func DecodeCall(r io.Reader, limit int64, report func(api.Ignored)) (Call, error) {
	var c Call
	if err := api.DecodeLenient(r, &c, limit, report); err != nil {
		return Call{}, err
	}
	return c, nil
}

// EncodeUUID turns a status update's uuid as headroom keeps it (hex, or
// a textual UUID) into its wire form: the 16 bytes in base64, as Mesos
// sends a bytes field in JSON. Any other text is sent as its own bytes,
// so that every uuid has a wire form that maps back to it.
func EncodeUUID(text string) string {
	if text == "" {
		return ""
	}
	return base64.StdEncoding.EncodeToString(uuidBytes(text))
}

func uuidBytes(text string) []byte {
	if len(text) == 32 {
		if b, err := hex.DecodeString(text); err == nil {
			return b
		}
	}
	if len(text) == 36 {
		if u, err := uuid.Parse(text); err == nil {
			return u[:]
		}
	}
	return []byte(text)
}

// CanonicalUUID returns the wire form of an acknowledged uuid, to compare
// with EncodeUUID's: base64 as Mesos clients send it (padded or not,
// standard or URL alphabet), or the textual form headroom's own client
// sent before uuids were bytes on the wire.
func CanonicalUUID(wire string) (string, error) {
	if wire == "" {
		return "", errors.New("uuid: required")
	}
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if b, err := enc.DecodeString(wire); err == nil && len(b) > 0 {
			// A 32-character hex text is also valid base64 (24 bytes):
			// a uuid is 16 bytes, so only that length is taken as
			// base64 when the text also reads as hex.
			if len(b) == 16 || !looksTextual(wire) {
				return base64.StdEncoding.EncodeToString(b), nil
			}
		}
	}
	// Textual, or garbage: its own wire form, which matches an update
	// only if it was sent so.
	return EncodeUUID(wire), nil
}

func looksTextual(s string) bool {
	if len(s) == 32 {
		_, err := hex.DecodeString(s)
		return err == nil
	}
	if len(s) == 36 {
		_, err := uuid.Parse(s)
		return err == nil
	}
	return false
}
