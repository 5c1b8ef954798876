package reports

import (
	"math"
	"testing"

	hdr "github.com/HdrHistogram/hdrhistogram-go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// encodeHDR must produce what the library (and every other HdrHistogram
// implementation) decodes to the very same counts.
func TestEncodeHDRDecodes(t *testing.T) {
	huge := newRunHDR()
	require.NoError(t, huge.RecordValues(highestUS, math.MaxInt64/4)) // a count past 7 bytes of varint
	require.NoError(t, huge.RecordValues(1, 1))
	for name, h := range map[string]*hdr.Histogram{
		"empty run":    newRunHDR(),
		"empty second": newSecondHDR(),
		"huge counts":  huge,
		"spread":       spread(newRunHDR()),
		"second":       spread(newSecondHDR()),
		"zero only":    only(newRunHDR(), 0),
		"max only":     only(newRunHDR(), highestUS),
	} {
		t.Run(name, func(t *testing.T) {
			enc := encodeHDR(h)
			back, err := hdr.Decode([]byte(enc))
			require.NoError(t, err)
			assert.True(t, h.Equals(back), "decoded counts differ")
			assert.Equal(t, enc, encodeHDR(back), "same counts, same bytes")
			lib, err := h.Encode(hdr.V2CompressedEncodingCookieBase)
			require.NoError(t, err)
			fromLib, err := hdr.Decode(lib)
			require.NoError(t, err)
			assert.True(t, fromLib.Equals(back), "the library's own encoding decodes to the same")
		})
	}
}

func spread(h *hdr.Histogram) *hdr.Histogram {
	for v := int64(1); v < highestUS; v = v*11/10 + 1 {
		_ = h.RecordValues(v, v%7+1)
	}
	return h
}

func only(h *hdr.Histogram, v int64) *hdr.Histogram {
	_ = h.RecordValue(v)
	return h
}

func TestAppendZigZag(t *testing.T) {
	for _, tt := range []struct {
		v    int64
		want []byte
	}{
		{0, []byte{0}},
		{-1, []byte{1}},
		{1, []byte{2}},
		{63, []byte{0x7e}},
		{64, []byte{0x80, 0x01}},
		{-65, []byte{0x81, 0x01}},
		{math.MaxInt64, []byte{0xfe, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}},
		{math.MinInt64, []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}},
	} {
		assert.Equal(t, tt.want, appendZigZag(nil, tt.v), "%d", tt.v)
	}
}
