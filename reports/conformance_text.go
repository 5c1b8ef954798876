package reports

import (
	"fmt"
	"io"
	"strings"
	"time"
)

// conformanceTable lists every case: CASE, VERDICT, WANT, GOT, REASON,
// LATENCY, NOTE. The text and Markdown renderers share it.
func conformanceTable(r *ConformanceResult) *table {
	t := &table{
		head:  []string{"case", "verdict", "want", "got", "reason", "latency", "note"},
		align: []align{left, left, left, left, left, right, left},
	}
	for _, c := range r.Cases {
		latency := "-"
		if c.Got != "" {
			latency = fmtLatency(time.Duration(c.Latency))
		}
		t.add(c.ID, string(c.Verdict), wantCell(c), orDash(c.Got), orDash(c.Reason), latency, caseNote(c))
	}
	return t
}

// wantCell is the expected code and the codes allowed instead: "PERMISSION_DENIED (or UNAUTHENTICATED)".
func wantCell(c ConformanceCase) string {
	if c.Want == "" {
		return "-"
	}
	if len(c.Also) == 0 {
		return c.Want
	}
	return c.Want + " (or " + strings.Join(c.Also, ", ") + ")"
}

// caseNote says in a few words what matters about a case that did not simply pass.
func caseNote(c ConformanceCase) string {
	switch {
	case c.Verdict == CaseFail && c.Rule != "" && c.Detail != "":
		return c.Rule + ": " + c.Detail
	case c.Verdict == CaseFail:
		return c.Rule
	case c.Verdict == CasePass:
		return ""
	}
	return c.Detail
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// failedVariants lists, for each failed case, the variants that failed and why.
func failedVariants(r *ConformanceResult) []string {
	var out []string
	for _, c := range r.Cases {
		if c.Verdict != CaseFail && c.Verdict != CaseKnownFail {
			continue
		}
		for _, v := range c.Variants {
			if v.Pass || v.Skipped {
				continue
			}
			line := fmt.Sprintf("%s/%s: got %s", c.ID, v.Name, orDash(v.Got))
			if v.Reason != "" {
				line += " " + v.Reason
			}
			if len(v.Rules) > 0 {
				line += " [" + strings.Join(v.Rules, ", ") + "]"
			}
			if v.Detail != "" {
				line += ": " + v.Detail
			}
			if v.Message != "" {
				line += fmt.Sprintf(" (message %q)", v.Message)
			}
			out = append(out, line)
		}
	}
	return out
}

// conformanceHeadline sums a run up: the target, the verdict counts and the time taken.
func conformanceHeadline(r *ConformanceResult) string {
	return fmt.Sprintf("%s in %s", r.Summary(), time.Duration(r.Duration).Round(time.Millisecond))
}

// WriteConformanceText writes r as a terminal report: the target, one
// line per case, the variants of failed cases, and the summary last, where
// a CI log shows it.
func WriteConformanceText(w io.Writer, r *ConformanceResult) error {
	var b strings.Builder
	fmt.Fprintf(&b, "jitbench conformance: %s (%s profile), %s\n", r.Target, r.Profile, r.Method)
	for _, n := range r.Notes {
		b.WriteString("note: " + n + "\n")
	}
	b.WriteByte('\n')
	t := conformanceTable(r)
	t.head = upper(t.head)
	t.write(&b)
	if lines := failedVariants(r); len(lines) > 0 {
		b.WriteString("\nFAILED VARIANTS\n")
		for _, l := range lines {
			b.WriteString("  " + l + "\n")
		}
	}
	fmt.Fprintf(&b, "\n%s: %s\n", conformanceVerdict(r), conformanceHeadline(r))
	_, err := io.WriteString(w, b.String())
	return err
}

// WriteConformanceMarkdown writes r as GitHub-flavoured Markdown for a CI
// step summary: the verdict first, then the cases, then the failed variants.
func WriteConformanceMarkdown(w io.Writer, r *ConformanceResult) error {
	var b strings.Builder
	mark := "✅ pass"
	switch v := conformanceVerdict(r); {
	case strings.HasPrefix(v, "ERROR"):
		mark = "⚠️ " + mdEscape(v)
	case r.Failed():
		mark = "❌ fail"
	}
	fmt.Fprintf(&b, "## jitbench conformance: %s\n\n", mdEscape(r.Target))
	fmt.Fprintf(&b, "**%s** — %s; `%s`, %s profile\n\n", mark, mdEscape(conformanceHeadline(r)), mdCode(r.Method), mdEscape(r.Profile))
	for _, n := range r.Notes {
		fmt.Fprintf(&b, "> **Note:** %s\n\n", mdEscape(n))
	}
	mdTable(&b, conformanceTable(r))
	if lines := failedVariants(r); len(lines) > 0 {
		b.WriteString("### Failed variants\n\n")
		for _, l := range lines {
			fmt.Fprintf(&b, "- %s\n", mdEscape(l))
		}
		b.WriteByte('\n')
	}
	_, err := io.WriteString(w, b.String())
	return err
}
