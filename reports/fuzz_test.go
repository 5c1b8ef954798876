package reports_test

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/jitbench/jitbench/reports"
)

// FuzzRead feeds Read arbitrary bytes: it must return a result or an error,
// never panic, and whatever it accepts must survive a write and a re-read.
func FuzzRead(f *testing.F) {
	example, err := os.ReadFile(filepath.Join("testdata", "fixture.json"))
	require.NoError(f, err)
	f.Add(example)
	f.Add(example[:len(example)/3])
	empty := reports.NewRecorder(reports.Run{Method: "/m"}).Finish()
	var b bytes.Buffer
	require.NoError(f, reports.Write(&b, empty))
	f.Add(b.Bytes())
	for _, s := range []string{"", "{}", `{"schema":"jitbench.result/v1"}`, `{"schema":"jitbench.result/v1","latency":{"hdr":"HISTFAAAAAA="}}`, "[", "null"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		res, err := reports.Read(bytes.NewReader(data))
		if err != nil {
			require.Nil(t, res)
			return
		}
		var out bytes.Buffer
		require.NoError(t, reports.Write(&out, res))
		again, err := reports.Read(&out)
		require.NoError(t, err, "Read accepted a result that it cannot read back once written:\n%s", out.String())
		require.Equal(t, res.Calls, again.Calls)
		// Every renderer copes with whatever Read accepts.
		for _, format := range []string{"text", "md", "junit", "prom"} {
			require.NoError(t, reports.Render(&bytes.Buffer{}, res, format))
		}
	})
}
