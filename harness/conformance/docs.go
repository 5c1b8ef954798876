package conformance

import (
	_ "embed" // the catalog document's prose ships beside the code that fills its tables
	"fmt"
	"io"
	"reflect"
	"strings"
	"text/template"

	"github.com/jitbench/jitbench/fakes"
	"github.com/jitbench/jitbench/reference/reason"
)

//go:generate go run ./internal/gendocs ../../docs/conformance.md

// docs/conformance.md is generated from the catalog, the rules, the
// capabilities, the config schema, the claim presets and the example
// config as code, into the prose of conformance.md.tmpl: the document
// cannot name a case, rule or key the code does not have, and a test
// (TestDocsAreGenerated) fails when the file is not what WriteDocs writes.

//go:embed conformance.md.tmpl
var docsTemplate string

// DocsPath is where the generated document lives, from the repository's root.
const DocsPath = "docs/conformance.md"

// WriteDocs writes the conformance document: the template's prose with the
// tables filled from the code.
func WriteDocs(w io.Writer) error {
	t, err := template.New("conformance.md").Funcs(template.FuncMap{
		"cases": casesTable, "rules": rulesTable, "needs": needsTable, "keys": keysTable,
		"presets": presetsTable, "placeholders": placeholdersTable, "forms": formsList,
		"example": func() string { return strings.TrimRight(string(exampleConfig), "\n") },
		"count":   func() int { return len(catalog) },
	}).Parse(docsTemplate)
	if err != nil {
		return err
	}
	return t.Execute(w, nil)
}

// cell escapes text for a Markdown table cell.
func cell(s string) string { return strings.ReplaceAll(s, "|", `\|`) }

// casesTable is the catalog: id, fault, code per profile, codes allowed instead, needs.
func casesTable() string {
	var b strings.Builder
	b.WriteString("| id | fault | two-token | single-token | also | needs |\n|---|---|---|---|---|---|\n")
	for _, c := range catalog {
		var also []string
		for _, a := range c.Also {
			also = append(also, reason.CodeName(a))
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %s |\n", c.ID, cell(c.Fault), wantDoc(c.TwoToken), wantDoc(c.SingleToken),
			strings.Join(also, ", "), c.Needs)
	}
	return strings.TrimRight(b.String(), "\n")
}

func wantDoc(w Want) string {
	if w.NotApplicable {
		return "n/a"
	}
	return reason.CodeName(w.Code)
}

// rulesTable lists the rules in the order they are checked.
func rulesTable() string {
	var b strings.Builder
	b.WriteString("| rule | what it checks |\n|---|---|\n")
	for _, r := range ruleDocs {
		fmt.Fprintf(&b, "| `%s` | %s |\n", r.Name, cell(r.Checks))
	}
	return strings.TrimRight(b.String(), "\n")
}

// needsTable lists each capability, how a config declares it, and the cases that need it.
func needsTable() string {
	var b strings.Builder
	b.WriteString("| capability | declared by | cases |\n|---|---|---|\n")
	for _, n := range Needs() {
		var ids []string
		for _, c := range catalog {
			if c.Needs == n.Need {
				ids = append(ids, c.ID)
			}
		}
		fmt.Fprintf(&b, "| %s | `%s` | %s |\n", n.Need, n.Declared, strings.Join(ids, ", "))
	}
	return strings.TrimRight(b.String(), "\n")
}

// keysTable lists every config key with the sentence of its schema field.
func keysTable() string {
	var b strings.Builder
	b.WriteString("| key | |\n|---|---|\n")
	walkSchema(reflect.TypeFor[File](), "", func(key string, f reflect.StructField) {
		fmt.Fprintf(&b, "| `%s` | %s |\n", key, cell(f.Tag.Get("doc")))
	})
	return strings.TrimRight(b.String(), "\n")
}

// presetsTable lists the grant layouts with the claims each renders (resource declared).
func presetsTable() string {
	var b strings.Builder
	b.WriteString("| preset | typ | the claims it adds to iss, sub, aud, exp, nbf, iat, jti | |\n|---|---|---|---|\n")
	registered := registeredDoc()
	for _, p := range fakes.Presets() {
		var own []string
		for _, m := range p.Template(true).Root() {
			if registered.Index(m.Name) >= 0 {
				continue
			}
			j, err := fakes.Object{m}.MarshalJSON()
			if err != nil {
				continue
			}
			own = append(own, strings.TrimSuffix(strings.TrimPrefix(string(j), "{"), "}"))
		}
		fmt.Fprintf(&b, "| `%s` | `%s` | `%s` | %s |\n", p.Name, p.Typ, cell(strings.Join(own, ", ")), cell(p.Summary))
	}
	return strings.TrimRight(b.String(), "\n")
}

// registeredDoc are the claims every preset starts with.
func registeredDoc() fakes.Object { return fakes.IdentityTemplate().Root() }

// placeholderDocs say what each placeholder becomes.
var placeholderDocs = map[string]string{
	fakes.PlaceholderSubject:     "the caller (`subject`)",
	fakes.PlaceholderIssuer:      "the issuer (`keys.*.issuer`)",
	fakes.PlaceholderAudience:    "the service (`audience`); write `[\"${aud}\"]` for an array",
	fakes.PlaceholderID:          "a fresh token id (a fixed one for CLM-008's replay)",
	fakes.PlaceholderIssuedAt:    "issue time, seconds since the epoch (a number)",
	fakes.PlaceholderNotBefore:   "start of validity (a number)",
	fakes.PlaceholderExpires:     "expiry (a number); valid tokens live 5 minutes, or `max_grant_lifetime` if shorter",
	fakes.PlaceholderResource:    "the resource pattern (`resource.pattern`)",
	fakes.PlaceholderMethod:      "the called method, in `method_form`",
	fakes.PlaceholderMethods:     "the granted methods, a list (`${methods:space}` or `${methods:comma}` inside text)",
	fakes.PlaceholderPermission:  "the permission the called method needs (`permissions`, else the method's name)",
	fakes.PlaceholderPermissions: "the granted permissions, a list (`${permissions:space}` for an OAuth 2 scope string)",
}

// placeholdersTable lists the placeholders of claim templates.
func placeholdersTable() string {
	var b strings.Builder
	b.WriteString("| placeholder | becomes |\n|---|---|\n")
	for _, p := range fakes.Placeholders() {
		fmt.Fprintf(&b, "| `${%s}` | %s |\n", p, placeholderDocs[p])
	}
	return strings.TrimRight(b.String(), "\n")
}

// formsList names the method name forms.
func formsList() string {
	var out []string
	for _, f := range fakes.MethodForms() {
		out = append(out, "`"+string(f)+"`")
	}
	return strings.Join(out, ", ")
}
