package scenarios

import (
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"text/template"
	"text/template/parse"

	"go.yaml.in/yaml/v4"

	"github.com/jitbench/jitbench/reference/yamlfile"
)

// figureNames are the names an explain template may use after the dot:
// Figures' fields and methods, minus MetaCounts, which Meta reads.
var figureNames = []string{
	"Calls", "Codes", "Reasons", "Share", "P50", "P99", "Deadline", "ApprovalWait",
	"SkewSeen", "TokenAge", "ExpiredAgo", "Leeway", "OfferedAlg", "AcceptedAlgs", "Meta",
	"Diagnosis", "Fix", "Measurements",
}

// figureMethods take exactly one name: {{.Share "PERMISSION_DENIED"}}, {{.Meta "expired_ago"}}.
var figureMethods = []string{"Share", "Meta"}

// templateErrLine finds the line in text/template's parse errors: "template: explain:3: ...".
var templateErrLine = regexp.MustCompile(`^template: explain:(\d+):(?:\d+:)? ?(.*)$`)

// explain checks an explain template without running it: it must parse,
// every figure it names at the top level must exist, and it must be
// bounded (see checkExplainTree). Checking the tree instead of executing it
// keeps a hostile file from running a loop at load.
func (d *decoder) explain(n *yaml.Node, text string) error {
	if text == "" {
		return nil
	}
	_, err := parseExplain(text, explainFuncs(noDeadline), func(line, col int, msg string) error {
		return d.errorInText(n, line, col, "%s", msg)
	})
	return err
}

// parseExplain parses an explain template and checks its tree; a refusal
// is placed by place at the line and column (from 1) of the template's text.
// funcs are the bounded functions it runs with (explainFuncs).
func parseExplain(text string, funcs template.FuncMap, place func(line, col int, msg string) error) (*template.Template, error) {
	t, err := template.New("explain").Funcs(funcs).Parse(text)
	if err != nil {
		msg, line := err.Error(), 1
		if m := templateErrLine.FindStringSubmatch(msg); m != nil {
			line, _ = strconv.Atoi(m[1])
			msg = m[2]
		}
		return nil, place(line, 1, "explain template: "+msg)
	}
	c := &explainChecker{text: text, place: place}
	for _, other := range t.Templates() {
		if other.Name() != "explain" && other.Tree != nil {
			// {{define}} and {{block}} would let a template call itself:
			// an explanation is one text, and one pass over it.
			c.fail(other.Tree.Root, "explain template: {{define}} and {{block}} are not allowed: write the explanation as one text")
		}
	}
	if t.Tree != nil {
		c.list(t.Tree.Root, true, false)
	}
	return t, c.err
}

// errorInText places an error at line and column of a scalar's text: in a
// literal block (|) the text's lines are the file's lines below the key;
// in any other style only the scalar's own position is known.
func (d *decoder) errorInText(n *yaml.Node, line, col int, format string, args ...any) *Error {
	e := d.At(n, format, args...)
	if n.Style&yaml.LiteralStyle == 0 {
		return e
	}
	fileLine := n.Line + line
	if fileLine < 1 || fileLine > len(d.lines) {
		return e
	}
	text := d.lines[fileLine-1]
	indent := len(text) - len(strings.TrimLeft(text, " "))
	e.Line, e.Column = fileLine, indent+col
	return e
}

// explainChecker walks a template's tree, keeping the first error.
type explainChecker struct {
	text  string
	place func(line, col int, msg string) error
	err   error
}

func (c *explainChecker) fail(at parse.Node, format string, args ...any) {
	if c.err != nil {
		return
	}
	pos := min(max(int(at.Position()), 0), len(c.text))
	before := c.text[:pos]
	line := strings.Count(before, "\n") + 1
	col := pos - strings.LastIndex(before, "\n")
	c.err = c.place(line, col, fmt.Sprintf(format, args...))
}

// list checks a list of nodes; root says whether dot is still the Figures
// (inside range and with it is something else, and only $ reaches Figures),
// inRange whether they run once per element of a range.
func (c *explainChecker) list(l *parse.ListNode, root, inRange bool) {
	if l == nil {
		return
	}
	for _, n := range l.Nodes {
		c.node(n, root, inRange)
	}
}

func (c *explainChecker) node(n parse.Node, root, inRange bool) {
	switch n := n.(type) {
	case *parse.ActionNode:
		c.pipe(n.Pipe, root)
	case *parse.IfNode:
		c.pipe(n.Pipe, root)
		c.list(n.List, root, inRange)
		c.list(n.ElseList, root, inRange)
	case *parse.RangeNode:
		c.rangeOver(n, root, inRange)
		c.pipe(n.Pipe, root)
		c.list(n.List, false, true)
		c.list(n.ElseList, root, inRange)
	case *parse.WithNode:
		c.pipe(n.Pipe, root)
		c.list(n.List, false, inRange)
		c.list(n.ElseList, root, inRange)
	case *parse.TemplateNode:
		c.fail(n, "explain template: {{template}} is not allowed: write the explanation as one text")
	}
}

// rangeOver bounds the loops a template can make: a range goes over the
// counts of .Codes or .Reasons (a few dozen entries at most), never over a
// number ({{range 200000000}} would build gigabytes), and never inside
// another range.
func (c *explainChecker) rangeOver(n *parse.RangeNode, root, inRange bool) {
	if inRange {
		c.fail(n, "explain template: a range inside a range is not allowed: loop over .Codes or .Reasons once")
		return
	}
	var name string
	if cmds := n.Pipe.Cmds; len(cmds) == 1 && len(cmds[0].Args) == 1 {
		name, _ = topName(cmds[0].Args[0], root)
	}
	if name != "Codes" && name != "Reasons" {
		c.fail(n, "explain template: range goes over .Codes or .Reasons only (%s): an explanation loops over the counts it shows, never over a number",
			strings.TrimSpace(n.Pipe.String()))
	}
}

func (c *explainChecker) pipe(p *parse.PipeNode, root bool) {
	if p == nil {
		return
	}
	for _, cmd := range p.Cmds {
		c.command(cmd, root)
	}
}

// command checks one command: a figure method must come first with one
// name after it; any other figure takes no arguments.
func (c *explainChecker) command(cmd *parse.CommandNode, root bool) {
	if len(cmd.Args) == 0 {
		return
	}
	if name, ok := methodCall(cmd.Args[0], root); ok {
		c.method(cmd.Args[0], name, cmd.Args[1:])
		return
	}
	if name, ok := figureValue(cmd.Args[0], root); ok && len(cmd.Args) > 1 {
		c.fail(cmd.Args[1], "explain template: .%s is a figure, not a function: it takes no arguments", name)
		return
	}
	for _, a := range cmd.Args {
		c.arg(a, root)
	}
}

// methodCall reports whether a names a figure method (.Share, $.Meta).
func methodCall(a parse.Node, root bool) (string, bool) {
	name, ok := topName(a, root)
	return name, ok && slices.Contains(figureMethods, name)
}

// figureValue reports whether a names a figure that is not a method (.Calls, $.P99).
func figureValue(a parse.Node, root bool) (string, bool) {
	name, ok := topName(a, root)
	return name, ok && slices.Contains(figureNames, name) && !slices.Contains(figureMethods, name)
}

// topName returns the name a reaches on Figures when it is exactly one
// name deep: .X while dot is Figures, or $.X anywhere.
func topName(a parse.Node, root bool) (string, bool) {
	switch a := a.(type) {
	case *parse.FieldNode:
		if root && len(a.Ident) == 1 {
			return a.Ident[0], true
		}
	case *parse.VariableNode:
		if len(a.Ident) == 2 && a.Ident[0] == "$" {
			return a.Ident[1], true
		}
	}
	return "", false
}

// method checks .Share or .Meta and its one argument.
func (c *explainChecker) method(f parse.Node, name string, args []parse.Node) {
	example := map[string]string{"Share": `{{.Share "PERMISSION_DENIED"}}`, "Meta": `{{.Meta "expired_ago"}}`}[name]
	if len(args) != 1 {
		c.fail(f, "explain template: .%s takes one name, as in %s", name, example)
		return
	}
	s, ok := args[0].(*parse.StringNode)
	if !ok {
		c.arg(args[0], true)
		return
	}
	if name == "Share" && !isCode(s.Text) && !isReason(s.Text) {
		c.fail(s, "explain template: .Share %q names neither a gRPC code nor a reason%s",
			s.Text, yamlfile.DidYouMean(s.Text, append(slices.Clone(codeNames), reasonNames...)))
	}
}

func (c *explainChecker) arg(a parse.Node, root bool) {
	switch a := a.(type) {
	case *parse.FieldNode:
		if root {
			c.figure(a, a.Ident[0])
		}
	case *parse.VariableNode:
		if len(a.Ident) > 1 && a.Ident[0] == "$" {
			c.figure(a, a.Ident[1])
		}
	case *parse.ChainNode:
		c.arg(a.Node, root)
	case *parse.PipeNode:
		c.pipe(a, root)
	}
}

// figure checks a name used as a value: it must be a figure, and not a method.
func (c *explainChecker) figure(at parse.Node, name string) {
	switch {
	case slices.Contains(figureMethods, name):
		c.fail(at, "explain template: .%s takes one name and must come first in its action, as in {{.%s \"NAME\"}}", name, name)
	case !slices.Contains(figureNames, name):
		hint := ""
		if s := yamlfile.Suggest(name, figureNames); s != "" {
			hint = " (did you mean ." + s + "?)"
		}
		c.fail(at, "explain template: unknown figure .%s%s; figures: .%s", name, hint, strings.Join(figureNames, ", ."))
	}
}
