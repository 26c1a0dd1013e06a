package recordio

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"strconv"
)

// Writer frames records onto an io.Writer.
type Writer struct {
	w   io.Writer
	hdr []byte
}

// NewWriter frames onto w.
func NewWriter(w io.Writer) *Writer { return &Writer{w: w} }

// WriteRecord writes one record. The header and the record go out in one
// call when w buffers, so a reader never sees a header without its body
// after a flush of the caller.
func (w *Writer) WriteRecord(rec []byte) error {
	w.hdr = strconv.AppendInt(w.hdr[:0], int64(len(rec)), 10)
	w.hdr = append(w.hdr, '\n')
	if _, err := w.w.Write(w.hdr); err != nil {
		return fmt.Errorf("writing the header of a %d-byte record: %w", len(rec), err)
	}
	if _, err := w.w.Write(rec); err != nil {
		return fmt.Errorf("writing a %d-byte record: %w", len(rec), err)
	}
	return nil
}

// Frame returns rec with its header, for callers that queue framed bytes.
func Frame(rec []byte) []byte {
	out := strconv.AppendInt(make([]byte, 0, len(rec)+12), int64(len(rec)), 10)
	out = append(out, '\n')
	return append(out, rec...)
}

// ErrTooLarge is returned for a record whose header announces more than
// the reader's limit.
var ErrTooLarge = errors.New("record larger than the limit")

// maxHeaderDigits bounds the header: 20 digits hold any int64.
const maxHeaderDigits = 20

// Reader reads framed records.
type Reader struct {
	r   *bufio.Reader
	max int64
	buf []byte
}

// NewReader reads records of at most maxRecord bytes from r.
func NewReader(r io.Reader, maxRecord int64) *Reader {
	return &Reader{r: bufio.NewReader(r), max: maxRecord}
}

// ReadRecord returns the next record; the slice is valid until the next
// call. At a clean end between records it returns io.EOF; a stream cut
// inside a record gives io.ErrUnexpectedEOF.
func (r *Reader) ReadRecord() ([]byte, error) {
	var n int64
	digits := 0
	for {
		c, err := r.r.ReadByte()
		if err != nil {
			if errors.Is(err, io.EOF) && digits > 0 {
				return nil, fmt.Errorf("record header: %w", io.ErrUnexpectedEOF)
			}
			return nil, err
		}
		if c == '\n' {
			if digits == 0 {
				return nil, errors.New("record header: empty length")
			}
			break
		}
		if c < '0' || c > '9' {
			return nil, fmt.Errorf("record header: byte %q is not a decimal digit", c)
		}
		digits++
		if digits > maxHeaderDigits {
			return nil, fmt.Errorf("record header: more than %d digits", maxHeaderDigits)
		}
		n = n*10 + int64(c-'0')
		if n > r.max {
			return nil, fmt.Errorf("record header: %w (%d bytes)", ErrTooLarge, r.max)
		}
	}
	if int64(cap(r.buf)) < n {
		r.buf = make([]byte, n)
	}
	r.buf = r.buf[:n]
	if _, err := io.ReadFull(r.r, r.buf); err != nil {
		if errors.Is(err, io.EOF) {
			err = io.ErrUnexpectedEOF
		}
		return nil, fmt.Errorf("record of %d bytes: %w", n, err)
	}
	return r.buf, nil
}
