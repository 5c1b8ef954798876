package reports

import (
	"bytes"
	"compress/zlib"
	"encoding/base64"
	"encoding/binary"
	"math"
	"sync"

	hdr "github.com/HdrHistogram/hdrhistogram-go"
)

// HdrHistogram V2 cookies: the compressed envelope and the payload header.
const (
	compressedCookie = hdr.V2CompressedEncodingCookieBase | 0x10
	payloadCookie    = hdr.V2EncodingCookieBase | 0x10
)

// zlibWriters are reused: a new zlib writer costs a megabyte of state to
// allocate and clear, which made encoding a small histogram take a
// millisecond, and merging a day of timeline take minutes.
var zlibWriters = sync.Pool{New: func() any {
	w, _ := zlib.NewWriterLevel(nil, zlib.BestSpeed) // a valid level: no error
	return w
}}

// encodeHDR writes h in HdrHistogram's V2 compressed encoding, base64: the
// format hdr.Decode and the Java, C and Python implementations read.
//
// It is written here rather than taken from hdrhistogram-go, whose encoder
// compresses at the best (slowest) level with a new writer every time. The
// payload is the same: the same counts give the same bytes, and the
// encoding is deterministic, which the golden files rely on.
func encodeHDR(h *hdr.Histogram) string {
	snap := h.Export()
	last := len(snap.Counts) - 1
	for last >= 0 && snap.Counts[last] == 0 {
		last--
	}
	var payload []byte
	for i := 0; i <= last; {
		if snap.Counts[i] != 0 {
			payload = appendZigZag(payload, snap.Counts[i])
			i++
			continue
		}
		zeros := int64(0)
		for i <= last && snap.Counts[i] == 0 {
			zeros++
			i++
		}
		if zeros == 1 {
			payload = appendZigZag(payload, 0)
		} else {
			payload = appendZigZag(payload, -zeros)
		}
	}

	raw := make([]byte, 40, 40+len(payload))
	binary.BigEndian.PutUint32(raw[0:], uint32(payloadCookie))
	binary.BigEndian.PutUint32(raw[4:], uint32(len(payload)))
	binary.BigEndian.PutUint32(raw[8:], 0) // normalizing index offset: none in Go
	binary.BigEndian.PutUint32(raw[12:], uint32(snap.SignificantFigures))
	binary.BigEndian.PutUint64(raw[16:], uint64(snap.LowestTrackableValue))
	binary.BigEndian.PutUint64(raw[24:], uint64(snap.HighestTrackableValue))
	binary.BigEndian.PutUint64(raw[32:], math.Float64bits(1))
	raw = append(raw, payload...)

	var z bytes.Buffer
	w := zlibWriters.Get().(*zlib.Writer)
	w.Reset(&z)
	// Writes to a bytes.Buffer do not fail.
	_, _ = w.Write(raw)
	_ = w.Close()
	zlibWriters.Put(w)

	out := make([]byte, 8, 8+z.Len())
	binary.BigEndian.PutUint32(out[0:], uint32(compressedCookie))
	binary.BigEndian.PutUint32(out[4:], uint32(z.Len()))
	out = append(out, z.Bytes()...)
	return base64.StdEncoding.EncodeToString(out)
}

// appendZigZag appends v as HdrHistogram's ZigZag LEB128-64b9B: seven bits
// a byte for eight bytes, then a ninth byte of eight bits.
func appendZigZag(b []byte, v int64) []byte {
	u := uint64(v<<1) ^ uint64(v>>63)
	for range 8 {
		if u < 0x80 {
			return append(b, byte(u))
		}
		b = append(b, byte(u)|0x80)
		u >>= 7
	}
	return append(b, byte(u))
}
