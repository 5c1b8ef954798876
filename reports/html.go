package reports

import (
	"fmt"
	"html/template"
	"io"

	"gonum.org/v1/plot"
)

// WriteHTML writes r as one self-contained HTML page: the summary tables and
// three inline SVG plots (latency percentiles per second, calls per second
// by code, latency distribution by code). It loads nothing: no script, no
// stylesheet, no font, and a Content-Security-Policy that forbids fetching,
// so the page reads the same from a CI artefact, a mail or a laptop offline.
func WriteHTML(w io.Writer, r *Result) error {
	plots := []struct {
		title string
		make  func(*Result) (*plot.Plot, error)
	}{
		{"Latency percentiles over time", percentilePlot},
		{"Calls per second by code", codesPlot},
		{"Latency distribution", distributionPlot},
	}
	view := htmlView{
		Name:     r.Run.Name,
		Headline: headline(r),
		Meta: [][2]string{
			{"target", r.Run.Target},
			{"method", r.Run.Method},
			{"load", loadLine(r.Run)},
			{"window", windowLine(r.Run)},
			{"timeline", timelineLine(r)},
			{"version", workersLine(r.Run)},
		},
		Notes:  notes(r),
		Schema: Schema,
	}
	if view.Name == "" {
		view.Name = "load run"
	}
	for _, pl := range plots {
		p, err := pl.make(r)
		if err != nil {
			return fmt.Errorf("html report: %s: %w", pl.title, err)
		}
		s, err := svg(p, pl.title)
		if err != nil {
			return fmt.Errorf("html report: %s: %w", pl.title, err)
		}
		// Generated here from numbers and escaped labels: trusted markup.
		view.Plots = append(view.Plots, htmlPlot{Title: pl.title, SVG: template.HTML(s)})
	}
	if len(r.Expectations) > 0 {
		passed := 0
		for _, e := range r.Expectations {
			if e.Pass {
				passed++
			}
		}
		view.Tables = append(view.Tables, newHTMLTable(fmt.Sprintf("Expectations: %d of %d passed", passed, len(r.Expectations)), expectationTable(r)))
	}
	if len(r.Diagnoses) > 0 {
		view.Tables = append(view.Tables, newHTMLTable("Diagnosis of the failed calls", diagnosisTable(r)))
	}
	if len(r.Findings) > 0 {
		view.Tables = append(view.Tables, newHTMLTable("Measurements", findingTable(r)))
	}
	view.Tables = append(view.Tables, newHTMLTable("Codes", codeTable(r)))
	if rt := reasonTable(r); len(rt.rows) > 0 {
		view.Tables = append(view.Tables, newHTMLTable("Reasons", rt))
	}
	if mt := messageTable(r); len(mt.rows) > 0 {
		view.Tables = append(view.Tables, newHTMLTable("Messages", mt))
	}
	view.Tables = append(view.Tables, newHTMLTable("Latency", latencyTable(r)))
	return pageTemplate.Execute(w, view)
}

type htmlView struct {
	Name     string
	Headline string
	Meta     [][2]string
	Notes    []string
	Tables   []htmlTable
	Plots    []htmlPlot
	Schema   string
}

type htmlPlot struct {
	Title string
	SVG   template.HTML
}

type htmlTable struct {
	Title string
	Head  []htmlCell
	Rows  [][]htmlCell
}

type htmlCell struct {
	Text  string
	Class string
}

func newHTMLTable(title string, t *table) htmlTable {
	class := func(i int, text string) string {
		switch {
		case text == "FAIL":
			return "fail"
		case text == "PASS":
			return "pass"
		case t.align[i] == right:
			return "num"
		}
		return ""
	}
	out := htmlTable{Title: title}
	for i, h := range t.head {
		out.Head = append(out.Head, htmlCell{Text: h, Class: class(i, "")})
	}
	for _, row := range t.rows {
		var cells []htmlCell
		for i, c := range row {
			cells = append(cells, htmlCell{Text: c, Class: class(i, c)})
		}
		out.Rows = append(out.Rows, cells)
	}
	return out
}

var pageTemplate = template.Must(template.New("page").Parse(`<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">
<title>jitbench: {{.Name}}</title>
<style>
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,"Liberation Sans",Arial,sans-serif;margin:2rem auto;max-width:1100px;padding:0 1rem;color:#222;line-height:1.4}
h1{font-size:1.5rem;margin-bottom:.2rem}
h2{font-size:1.15rem;margin:1.8rem 0 .5rem;border-bottom:1px solid #ddd;padding-bottom:.2rem}
.headline{font-size:1.1rem;font-weight:600;margin-top:0}
dl{display:grid;grid-template-columns:max-content 1fr;gap:.15rem 1rem;margin:.5rem 0}
dt{color:#666}dd{margin:0;font-family:ui-monospace,"Liberation Mono",Menlo,monospace;font-size:.9rem}
.note{background:#fff4e5;border-left:4px solid #ff7f0e;padding:.4rem .8rem}
table{border-collapse:collapse;font-size:.9rem;margin:.3rem 0}
th,td{padding:.25rem .7rem;border-bottom:1px solid #eee;text-align:left}
th{background:#f6f6f6}
.num{text-align:right;font-variant-numeric:tabular-nums}
.pass{color:#1a7f1a;font-weight:600}.fail{color:#c62828;font-weight:700}
figure{margin:0}
figure svg{width:100%;height:auto;display:block}
footer{margin-top:2rem;color:#888;font-size:.8rem}
</style>
</head>
<body>
<header>
<h1>jitbench: {{.Name}}</h1>
<p class="headline">{{.Headline}}</p>
<dl>
{{- range .Meta}}
<dt>{{index . 0}}</dt><dd>{{index . 1}}</dd>
{{- end}}
</dl>
</header>
{{- range .Notes}}
<p class="note">{{.}}</p>
{{- end}}
{{- range .Plots}}
<section>
<h2>{{.Title}}</h2>
<figure>
{{.SVG}}
</figure>
</section>
{{- end}}
{{- range .Tables}}
<section>
<h2>{{.Title}}</h2>
<table>
<thead><tr>{{range .Head}}<th{{if .Class}} class="{{.Class}}"{{end}}>{{.Text}}</th>{{end}}</tr></thead>
<tbody>
{{- range .Rows}}
<tr>{{range .}}<td{{if .Class}} class="{{.Class}}"{{end}}>{{.Text}}</td>{{end}}</tr>
{{- end}}
</tbody>
</table>
</section>
{{- end}}
<footer>Written by jitbench from a {{.Schema}} result.</footer>
</body>
</html>
`))
