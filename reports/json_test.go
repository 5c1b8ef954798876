package reports_test

import (
	"bytes"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	hdr "github.com/HdrHistogram/hdrhistogram-go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/jitbench/jitbench/reports"
)

// hdrField masks encoded histograms: their bytes come from compress/zlib,
// which may change between Go releases; the decoded counts are checked by
// the round-trip test instead.
var hdrField = regexp.MustCompile(`"hdr": "[^"]*"`)

func TestWriteGolden(t *testing.T) {
	got := render(t, fixture(t), "json")
	path := filepath.Join("testdata", "fixture.json")
	if *update {
		golden(t, "fixture.json", got)
		return
	}
	want, err := os.ReadFile(path)
	require.NoError(t, err)
	assert.Equal(t, hdrField.ReplaceAllString(string(want), `"hdr": "…"`), hdrField.ReplaceAllString(string(got), `"hdr": "…"`))
}

// The committed example is a v1 file: this build must keep reading it.
func TestReadCommittedExample(t *testing.T) {
	f, err := os.Open(filepath.Join("testdata", "fixture.json"))
	require.NoError(t, err)
	defer f.Close()
	res, err := reports.Read(f)
	require.NoError(t, err)
	want := fixture(t)
	assert.Equal(t, want.Calls, res.Calls)
	assertSameHistogram(t, want.Latency, res.Latency, "latency")
	// The file's encodings may come from an older encoder: compare what
	// they decode to (the percentiles), not their bytes.
	require.Len(t, res.Timeline, len(want.Timeline))
	for i := range want.Timeline {
		w, g := want.Timeline[i], res.Timeline[i]
		assert.Equal(t, w.HDR == "", g.HDR == "")
		w.HDR, g.HDR = "", ""
		assert.Equal(t, w, g)
	}
}

func TestRoundTrip(t *testing.T) {
	want := fixture(t)
	first := render(t, want, "json")
	got, err := reports.Read(bytes.NewReader(first))
	require.NoError(t, err)
	assert.Equal(t, string(first), string(render(t, got, "json")), "Write(Read(Write(r))) must equal Write(r)")
	assert.Equal(t, want.Run, got.Run)
	assert.Equal(t, want.Codes, got.Codes)
	assert.Equal(t, want.Reasons, got.Reasons)
	assert.Equal(t, want.Messages, got.Messages)
	assert.Equal(t, want.Timeline, got.Timeline)
	assert.Equal(t, want.Expectations, got.Expectations)
	for _, p := range []float64{0, 50, 90, 99, 99.9, 99.99, 100} {
		assert.Equal(t, want.Latency.Percentile(p), got.Latency.Percentile(p))
		assert.Equal(t, want.Phases["grant"].Percentile(p), got.Phases["grant"].Percentile(p))
	}
}

func TestReadRejects(t *testing.T) {
	good := string(render(t, fixture(t), "json"))
	firstHDR := hdrField.FindString(good) // the overall latency's
	byCode := regexp.MustCompile(`"DEADLINE_EXCEEDED": \{[^}]*?("hdr": "[^"]*")`).FindStringSubmatch(good)
	require.Len(t, byCode, 2)
	for _, tt := range []struct {
		name, input, want string
	}{
		{"empty", "", "the input is empty"},
		{"blank", " \n\t", "the input is empty"},
		{"truncated", good[:len(good)/2], "truncated result: the JSON stops after"},
		{"not JSON", "hello", "not JSON"},
		{"array", "[1,2]", "the JSON is an array, not an object"},
		{"foreign object", `{"name":"ghz","count":200}`, `no "schema" field`},
		{"foreign schema", `{"schema":"k6/summary"}`, `schema "k6/summary"`},
		{"newer schema", `{"schema":"jitbench.result/v2"}`, `unsupported result schema "jitbench.result/v2": this jitbench reads "jitbench.result/v1"`},
		{"schema not a string", `{"schema":1}`, `"schema" is not a string`},
		{"wrong type", strings.Replace(good, `"calls": 1000`, `"calls": "many"`, 1), "calls: got a JSON string, want int64"},
		{"bad histogram", strings.Replace(good, firstHDR, `"hdr": "bm90IGEgaGlzdG9ncmFt"`, 1), "latency: bad encoded histogram"},
		{"bad base64", strings.Replace(good, firstHDR, `"hdr": "%%%"`, 1), "latency: bad encoded histogram: illegal base64"},
		{"bad histogram by code", strings.Replace(good, byCode[1], `"hdr": ""`, 1), "latency_by_code.DEADLINE_EXCEEDED: no encoded histogram"},
		{"no latency", strings.Replace(good, `"latency": {`, `"latency_gone": {`, 1), `no "latency" histogram`},
		{"counts disagree", strings.Replace(good, `"OK": 951`, `"OK": 950`, 1), "inconsistent result: latency_by_code.OK holds 951 calls, codes.OK is 950"},
		{"calls disagree", strings.Replace(good, `"calls": 1000`, `"calls": 999`, 1), "inconsistent result: latency holds 1000 calls, calls is 999"},
		{"bad mode", strings.Replace(good, `"mode": "open"`, `"mode": "sideways"`, 1), `run.mode "sideways"`},
		{"bad duration", strings.Replace(good, `"warm_up": "2s"`, `"warm_up": "two seconds"`, 1), "invalid duration"},
		{"timeline disagrees", strings.Replace(good, `"completed": 100,`, `"completed": 101,`, 1), "timeline[0] (unix 1767225600): codes add up to 100, completed is 101"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			require.NotEqual(t, good, tt.input, "the test input must differ from the good file")
			_, err := reports.Read(strings.NewReader(tt.input))
			require.Error(t, err)
			assert.Contains(t, err.Error(), tt.want)
		})
	}
}

// A histogram of another geometry would not merge exactly: Read refuses it.
func TestReadRejectsForeignGeometry(t *testing.T) {
	good := string(render(t, fixture(t), "json"))
	other := hdr.New(1, 3_600_000_000, 2) // another tool's: 1 µs..1 h, 2 digits
	require.NoError(t, other.RecordValue(1500))
	enc, err := other.Encode(hdr.V2CompressedEncodingCookieBase)
	require.NoError(t, err)
	bad := strings.Replace(good, hdrField.FindString(good), `"hdr": "`+string(enc)+`"`, 1)
	_, err = reports.Read(strings.NewReader(bad))
	require.Error(t, err)
	assert.Contains(t, err.Error(), "latency: histogram geometry 1..3600000000 µs with 2 digits, want 1..60000000 µs with 3")
}
