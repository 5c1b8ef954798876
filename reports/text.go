package reports

import (
	"io"
	"strings"
)

// WriteText writes r as a terminal report: the run, then tables of codes,
// reasons, status messages and latency percentiles, the timeline in a line,
// and expectations.
func WriteText(w io.Writer, r *Result) error {
	var b strings.Builder
	name := r.Run.Name
	if name == "" {
		name = "(unnamed run)"
	}
	b.WriteString("jitbench result: " + name + "\n")
	meta := &table{align: []align{left, left}, head: []string{"target", r.Run.Target + " " + r.Run.Method}}
	meta.add("load", loadLine(r.Run))
	meta.add("window", windowLine(r.Run))
	meta.add("result", headline(r))
	meta.add("version", workersLine(r.Run))
	meta.write(&b)
	for _, n := range notes(r) {
		b.WriteString("note: " + n + "\n")
	}
	section := func(t *table) {
		b.WriteByte('\n')
		t.head = upper(t.head)
		t.write(&b)
	}
	if len(r.Codes) > 0 {
		section(codeTable(r))
	}
	if rt := reasonTable(r); len(rt.rows) > 0 {
		section(rt)
	}
	if mt := messageTable(r); len(mt.rows) > 0 {
		section(mt)
	}
	section(latencyTable(r))
	b.WriteString("\nTIMELINE  " + timelineLine(r) + "\n")
	if len(r.Expectations) > 0 {
		section(expectationTable(r))
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func upper(ss []string) []string {
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = strings.ToUpper(s)
	}
	return out
}
