package zoo

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestCheckJSONObject(t *testing.T) {
	known := []string{"exp", "sub", "scope"}
	lax := strictness{}
	tests := []struct {
		name, json string
		strict     bool // accepted by the strict check
		lax        bool // accepted with neither rule
	}{
		{"plain", `{"exp":1,"sub":"a","scope":"x"}`, true, true},
		{"unknown claim", `{"exp":1,"pad":"AAAA"}`, true, true},
		{"duplicate top-level", `{"sub":"a","sub":"b"}`, false, true},
		{"duplicate escaped", `{"sub":"a","s\u0075b":"b"}`, false, true},
		{"duplicate nested", `{"x":{"k":1,"k":2}}`, false, true},
		{"duplicate in an array's object", `{"x":[{"k":1,"k":2}]}`, false, true},
		{"case variant beside", `{"exp":1,"EXP":2}`, false, true},
		{"case variant instead", `{"Sub":"a"}`, false, true},
		{"case variant of scope", `{"SCOPE":"x"}`, false, true},
		{"case variant nested is fine", `{"x":{"EXP":1}}`, true, true},
		{"same key in two objects", `{"a":{"k":1},"b":{"k":2}}`, true, true},
		{"array", `[1]`, false, false},
		{"string", `"x"`, false, false},
		{"trailing data", `{"exp":1} {}`, false, false},
		{"truncated", `{"exp":1`, false, false},
		{"not JSON", `jitbench`, false, false},
		{"invalid UTF-8", "{\"sub\":\"\xff\"}", false, false},
		{"too deep", `{"a":[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]}`, false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.strict, checkJSONObject([]byte(tt.json), known, strict) == nil, "strict")
			assert.Equal(t, tt.lax, checkJSONObject([]byte(tt.json), known, lax) == nil, "lax")
		})
	}
}

func TestNumericDate(t *testing.T) {
	tests := []struct {
		json    string
		ok      bool  // read as a NumericDate
		inRange bool  // and within range
		unix    int64 // its seconds, when in range
	}{
		{`1767225600`, true, true, 1767225600},
		{`1767225600.5`, true, true, 1767225600},
		{`0`, true, true, 0},
		{`"1767225600"`, false, false, 0},
		{`true`, false, false, 0},
		{`1e309`, false, false, 0},
		{`-1`, true, false, 0},
		{`1e19`, true, false, 0},
		{`1e308`, true, false, 0},
		{`253402300800`, true, false, 0},
	}
	for _, tt := range tests {
		t.Run(tt.json, func(t *testing.T) {
			var d numericDate
			err := d.UnmarshalJSON([]byte(tt.json))
			assert.Equal(t, tt.ok, err == nil, "read: %v", err)
			if err != nil {
				return
			}
			at, err := d.time()
			assert.Equal(t, tt.inRange, err == nil, "range: %v", err)
			if err == nil {
				assert.Equal(t, tt.unix, at.Unix())
			}
		})
	}
}

func TestUnderPrefix(t *testing.T) {
	tests := []struct {
		path, res string
		want      bool
	}{
		{"reports/q1.csv", "reports/", true},
		{"reports/2026/q1.csv", "reports/", true},
		{"reports", "reports/", true},
		{"reports/", "reports/", true},
		{"reports-old/q1.csv", "reports/", false},
		{"reports-old/q1.csv", "reports", false},
		{"reports/../payroll/x", "reports/", false},
		{"reports/./q1.csv", "reports/", false},
		{"payroll/x", "reports/", false},
		{"", "reports/", false},
		{"reports/q1.csv", "", false},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, underPrefix(tt.path, tt.res), "%q under %q", tt.path, tt.res)
	}
}
