package reports

import (
	"fmt"
	"io"
	"strings"
)

// WriteMarkdown writes r as GitHub-flavoured Markdown sized for a CI step
// summary ($GITHUB_STEP_SUMMARY): a headline, expectations first because
// they decide the job, then codes, reasons, latency and the timeline.
func WriteMarkdown(w io.Writer, r *Result) error {
	var b strings.Builder
	name := r.Run.Name
	if name == "" {
		name = "load run"
	}
	fmt.Fprintf(&b, "## jitbench: %s\n\n", mdEscape(name))
	fmt.Fprintf(&b, "**%s** — `%s` on `%s`\n\n", mdEscape(headline(r)), mdCode(r.Run.Method), mdCode(r.Run.Target))
	meta := &table{head: []string{"run", ""}, align: []align{left, left}}
	meta.add("load", loadLine(r.Run))
	meta.add("window", windowLine(r.Run))
	meta.add("timeline", timelineLine(r))
	meta.add("version", workersLine(r.Run))
	mdTable(&b, meta)
	for _, n := range notes(r) {
		fmt.Fprintf(&b, "> **Note:** %s\n\n", mdEscape(n))
	}
	if len(r.Expectations) > 0 {
		passed := 0
		for _, e := range r.Expectations {
			if e.Pass {
				passed++
			}
		}
		fmt.Fprintf(&b, "### Expectations: %d of %d passed\n\n", passed, len(r.Expectations))
		t := expectationTable(r)
		for _, row := range t.rows {
			if row[0] == "PASS" {
				row[0] = "✅ pass"
			} else {
				row[0] = "❌ fail"
			}
		}
		mdTable(&b, t)
	}
	if len(r.Diagnoses) > 0 {
		b.WriteString("### Diagnosis of the failed calls\n\n")
		mdTable(&b, diagnosisTable(r))
	}
	if len(r.Findings) > 0 {
		b.WriteString("### Measurements\n\n")
		mdTable(&b, findingTable(r))
	}
	if len(r.Codes) > 0 {
		b.WriteString("### Codes\n\n")
		mdTable(&b, codeTable(r))
	}
	if rt := reasonTable(r); len(rt.rows) > 0 {
		b.WriteString("### Reasons\n\n")
		mdTable(&b, rt)
	}
	if mt := messageTable(r); len(mt.rows) > 0 {
		b.WriteString("### Messages\n\n")
		mdTable(&b, mt)
	}
	b.WriteString("### Latency\n\n")
	mdTable(&b, latencyTable(r))
	_, err := io.WriteString(w, b.String())
	return err
}

// mdTable writes t as a pipe table followed by a blank line.
func mdTable(b *strings.Builder, t *table) {
	row := func(cells []string) {
		b.WriteString("|")
		for _, c := range cells {
			b.WriteString(" " + mdEscape(c) + " |")
		}
		b.WriteString("\n")
	}
	row(t.head)
	b.WriteString("|")
	for _, a := range t.align {
		if a == right {
			b.WriteString("---:|")
		} else {
			b.WriteString(":---|")
		}
	}
	b.WriteString("\n")
	for _, r := range t.rows {
		row(r)
	}
	b.WriteString("\n")
}

// mdEscaper keeps text from breaking a table or turning into markup. "_" is
// left alone: GitHub never reads it as emphasis inside a word, and readers
// copy names such as PERMISSION_DENIED.
var mdEscaper = strings.NewReplacer(
	`\`, `\\`, "|", `\|`, "*", `\*`, "`", "\\`", "<", "&lt;", ">", "&gt;", "\n", " ",
)

func mdEscape(s string) string { return mdEscaper.Replace(s) }

// mdCode makes s safe inside a code span.
func mdCode(s string) string {
	return strings.NewReplacer("`", "'", "\n", " ").Replace(s)
}
