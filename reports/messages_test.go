package reports_test

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/jitbench/jitbench/reports"
)

func TestCleanMessage(t *testing.T) {
	long := strings.Repeat("é", reports.MaxMessageRunes+50)
	for _, tt := range []struct {
		name, in, want string
	}{
		{"plain", "path is required", "path is required"},
		{"dotted names stay", "unknown service demo.v1.Vault (jit.jitbench.dev, v1.2.3, secrets.db.password)", "unknown service demo.v1.Vault (jit.jitbench.dev, v1.2.3, secrets.db.password)"},
		{"sentence end", "grant is required.", "grant is required."},
		{"JWT", "token " + fixtureToken + " refused", "token [redacted] refused"},
		{"JWT after equals", "grant=" + fixtureToken + ";", "grant=[redacted];"},
		{"alg none, empty signature", "eyJhbGciOiJub25lIn0.e30. accepted", "[redacted] accepted"},
		{"long segments without eyJ", "bad abcdefghijklmnopqrstuvwxyz.ABCDEFGHIJKLMNOPQRSTUVWXYZ.sig", "bad [redacted]"},
		{"token cut short", "payload eyJzdWIiOiJhbGljZSJ9xx.eyJhbGciOiJFZERTQSJ9 cut", "payload [redacted] cut"},
		{"Bearer value", `bad header "Bearer s3cr3t-opaque-value" sent`, `bad header "Bearer [redacted]" sent`},
		{"bearer any case", "authorization: bearer abc def", "authorization: bearer [redacted] def"},
		{"Bearer alone", "want a Bearer", "want a Bearer"},
		{"control characters", "line one\nline two\ttab\x00", "line one line two tab"},
		{"invalid UTF-8", "bad \xff byte", "bad \uFFFD byte"},
		{"trimmed", "  padded  ", "padded"},
		{"cut at the limit", long, strings.Repeat("é", reports.MaxMessageRunes) + "…"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got := reports.CleanMessage(tt.in)
			assert.Equal(t, tt.want, got)
			assert.Equal(t, got, reports.CleanMessage(got), "cleaning a clean message changes nothing")
		})
	}
}

// recordMessages records calls of one failed code with the given messages
// (each repeated as many times as its count), in turn.
func recordMessages(rec *reports.Recorder, code, reason string, counts map[string]int) {
	at := t0
	for msg, n := range counts {
		for range n {
			rec.Record(reports.Sample{Start: at, Latency: time.Millisecond, Code: code, Reason: reason, Message: msg})
			at = at.Add(time.Millisecond)
		}
	}
}

func TestMessagesTopFiveExact(t *testing.T) {
	rec := reports.NewRecorder(reports.Run{Method: "/m", Mode: reports.ClosedLoop})
	counts := map[string]int{}
	for i := range 7 {
		counts[fmt.Sprintf("message %d", i)] = 10 * (i + 1) // 10, 20, ... 70
	}
	recordMessages(rec, "INVALID_ARGUMENT", "", counts)
	recordMessages(rec, "PERMISSION_DENIED", "GRANT_EXPIRED", map[string]int{"expired": 3})
	res := rec.Finish()
	require.Len(t, res.Messages, 2)
	assert.Equal(t, reports.MessageCounts{Code: "INVALID_ARGUMENT", Top: []reports.MessageCount{
		{"message 6", 70}, {"message 5", 60}, {"message 4", 50}, {"message 3", 40}, {"message 2", 30},
	}, Other: 30}, res.Messages[0], "the five most frequent, exactly, the rest in other")
	assert.Equal(t, reports.MessageCounts{Code: "PERMISSION_DENIED", Reason: "GRANT_EXPIRED",
		Top: []reports.MessageCount{{"expired", 3}}}, res.Messages[1])
}

// TestServerMessageShown is issue 15's INVALID_ARGUMENT without a reason:
// the server's message shows in every report a person reads.
func TestServerMessageShown(t *testing.T) {
	rec := reports.NewRecorder(reports.Run{Method: "/demo.v1.Vault/Read", Mode: reports.ClosedLoop})
	recordMessages(rec, "INVALID_ARGUMENT", "", map[string]int{"path is required": 40})
	res := rec.Finish()
	text := string(render(t, res, "text"))
	assert.Regexp(t, `(?m)^INVALID_ARGUMENT\s+\(no reason\)\s+40\s+path is required$`, text)
	assert.Contains(t, string(render(t, res, "md")), "| INVALID_ARGUMENT | (no reason) | 40 | path is required |")
	assert.Contains(t, string(render(t, res, "html")), "<td>path is required</td>")
	assert.Contains(t, string(render(t, res, "json")), `"message": "path is required"`)
}

func TestMessagesRedactedEverywhere(t *testing.T) {
	res := fixture(t)
	segments := strings.Split(fixtureToken, ".")
	for _, format := range reports.Formats() {
		t.Run(format, func(t *testing.T) {
			out := string(render(t, res, format))
			for _, seg := range segments {
				assert.NotContains(t, out, seg, "no part of the token")
			}
			if format != "junit" && format != "prom" {
				assert.Contains(t, out, "identity [redacted] expired")
			}
		})
	}
}

// A recorder keeps a bounded number of messages whatever the calls bring:
// here every call a new one, and the frequent one still counted exactly.
func TestMessagesBounded(t *testing.T) {
	rec := reports.NewRecorder(reports.Run{Method: "/m", Mode: reports.ClosedLoop})
	recordMessages(rec, "INTERNAL", "", map[string]int{"path is required": 500})
	const distinct = 20_000
	for i := range distinct {
		rec.Record(reports.Sample{Start: t0, Latency: time.Millisecond, Code: "INTERNAL",
			Message: fmt.Sprintf("request %d failed: %s", i, strings.Repeat("x", 300))})
	}
	res := rec.Finish()
	require.Len(t, res.Messages, 1)
	mc := res.Messages[0]
	require.NotEmpty(t, mc.Top)
	assert.Equal(t, reports.MessageCount{Message: "path is required", Calls: 500}, mc.Top[0])
	assert.LessOrEqual(t, len(mc.Top), reports.TopMessages)
	var listed int64
	for _, m := range mc.Top {
		listed += m.Calls
		assert.LessOrEqual(t, len([]rune(m.Message)), reports.MaxMessageRunes+1, "cut at the limit")
	}
	assert.EqualValues(t, 500+distinct, listed+mc.Other, "every call is listed or other")
	assert.Less(t, len(render(t, res, "json")), 20_000, "the result stays small")
}

func TestMessagesRoundTripAndMerge(t *testing.T) {
	want := fixture(t)
	got, err := reports.Read(bytes.NewReader(render(t, want, "json")))
	require.NoError(t, err)
	assert.Equal(t, want.Messages, got.Messages)
	assert.NotEmpty(t, got.Messages)

	merged, err := reports.Merge(want, got)
	require.NoError(t, err)
	require.Len(t, merged.Messages, len(want.Messages))
	for i, mc := range want.Messages {
		for j, m := range mc.Top {
			assert.Equal(t, m.Message, merged.Messages[i].Top[j].Message)
			assert.Equal(t, 2*m.Calls, merged.Messages[i].Top[j].Calls, "counts add up")
		}
	}
}

// Merge keeps a message only when every part accounts for it: a part that
// did not list it but has unlisted calls may hide some of it.
func TestMergeMessagesStayExact(t *testing.T) {
	part := func(counts map[string]int) *reports.Result {
		rec := reports.NewRecorder(reports.Run{Method: "/m", Mode: reports.ClosedLoop})
		recordMessages(rec, "INTERNAL", "", counts)
		return rec.Finish()
	}
	// a: "rare" is its sixth message, in other; b: "rare" is its top one.
	a := part(map[string]int{"m1": 50, "m2": 40, "m3": 30, "m4": 20, "m5": 10, "rare": 5})
	b := part(map[string]int{"rare": 100, "m1": 1})
	merged, err := reports.Merge(a, b)
	require.NoError(t, err)
	require.Len(t, merged.Messages, 1)
	assert.Equal(t, reports.MessageCounts{Code: "INTERNAL", Top: []reports.MessageCount{
		{"m1", 51}, {"m2", 40}, {"m3", 30}, {"m4", 20}, {"m5", 10},
	}, Other: 105}, merged.Messages[0], `"rare" has 105 calls, but a hides 5 of them: left out rather than counted 100`)

	// A result written before messages were kept lists none of its calls.
	old, err := os.ReadFile(filepath.Join("testdata", "fixture-before-messages.json"))
	require.NoError(t, err)
	before, err := reports.Read(bytes.NewReader(old))
	require.NoError(t, err)
	assert.Empty(t, before.Messages)
	merged, err = reports.Merge(before, fixture(t))
	require.NoError(t, err)
	assert.Empty(t, merged.Messages, "no count is exact when one part does not say")
}

func TestReadRejectsBadMessages(t *testing.T) {
	good := string(render(t, fixture(t), "json"))
	clean := `"message": "identity [redacted] expired"`
	require.Contains(t, good, clean)
	for _, tt := range []struct {
		name, from, to, want string
	}{
		{"unredacted", clean, `"message": "identity ` + fixtureToken + ` expired"`, "top[0] is not a message as jitbench keeps it"},
		{"counts disagree", `"message": "no decision on request r-1 before the call's deadline",
          "calls": 4`, `"message": "no decision on request r-1 before the call's deadline",
          "calls": 5`, "messages and other add up to 5 calls, the code and reason have 4"},
		{"unknown pair", `"reason": "IDENTITY_EXPIRED",
      "top"`, `"reason": "IDENTITY_MISSING",
      "top"`, "messages[3] (UNAUTHENTICATED IDENTITY_MISSING): no failed calls of that code and reason"},
		{"negative other", `"calls": 6
        }
      ],
      "other": 0`, `"calls": 7
        }
      ],
      "other": -1`, "negative other"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			require.Contains(t, good, tt.from)
			_, err := reports.Read(strings.NewReader(strings.Replace(good, tt.from, tt.to, 1)))
			require.Error(t, err)
			assert.Contains(t, err.Error(), tt.want)
		})
	}
}

// Results written before messages and covered seconds were kept still read.
func TestReadResultBeforeMessages(t *testing.T) {
	old, err := os.ReadFile(filepath.Join("testdata", "fixture-before-messages.json"))
	require.NoError(t, err)
	res, err := reports.Read(bytes.NewReader(old))
	require.NoError(t, err)
	want := fixture(t)
	assert.Equal(t, want.Calls, res.Calls)
	require.Len(t, res.Timeline, len(want.Timeline))
	for i := range want.Timeline {
		assert.Equal(t, want.Timeline[i].Covered, res.Timeline[i].Covered, "recomputed from the window")
	}
	assert.NotContains(t, string(render(t, res, "text")), "MESSAGE")
}
