package reports

import (
	"fmt"
	"io"
	"strings"
)

// WriteComparison writes c, and the gate verdicts if any, as a terminal
// table ("text") or Markdown ("md") for `jitbench report diff`.
func WriteComparison(w io.Writer, c Comparison, verdicts []Verdict, format string) error {
	t := &table{head: []string{"metric", "base", "new", "change"}, align: []align{left, right, right, right}}
	for _, d := range c.Deltas {
		t.add(d.Metric, fmtValue(d.Unit, d.Base), fmtValue(d.Unit, d.Next), fmtChange(d))
	}
	var b strings.Builder
	switch format {
	case "text":
		fmt.Fprintf(&b, "base  %s %s, %s\nnew   %s %s, %s\n\n",
			runLabel(c.Base), c.Base.Method, fmtTime(c.Base.Start), runLabel(c.Next), c.Next.Method, fmtTime(c.Next.Start))
		t.head = upper(t.head)
		t.write(&b)
		if len(verdicts) > 0 {
			b.WriteString("\n")
			for _, v := range verdicts {
				b.WriteString(v.String() + "\n")
			}
		}
	case "md":
		fmt.Fprintf(&b, "## jitbench diff: %s → %s\n\n", mdEscape(runLabel(c.Base)), mdEscape(runLabel(c.Next)))
		if len(verdicts) > 0 {
			failed := len(Failures(verdicts))
			fmt.Fprintf(&b, "**%d of %d gates failed**\n\n", failed, len(verdicts))
			for _, v := range verdicts {
				mark := "✅"
				if v.Failed {
					mark = "❌"
				}
				fmt.Fprintf(&b, "- %s %s\n", mark, mdEscape(v.String()))
			}
			b.WriteString("\n")
		}
		mdTable(&b, t)
	default:
		return fmt.Errorf("unknown diff format %q (want text or md)", format)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// runLabel names a run for a comparison's header.
func runLabel(r Run) string {
	name := r.Name
	if name == "" {
		name = "run"
	}
	if r.Target != "" {
		name += " @ " + r.Target
	}
	return name
}
