package reports

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/jitbench/jitbench/reference/filecap"
)

// Write writes r as indented JSON, the format Read reads and Merge combines.
func Write(w io.Writer, r *Result) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	// Method names and targets read better unescaped; the output is not HTML.
	enc.SetEscapeHTML(false)
	return enc.Encode(r)
}

// Read reads a result written by Write. A file that is empty, truncated, not
// JSON, not a jitbench result, of another schema version, or whose figures
// disagree with its histograms is an error that says which; Read never panics.
func Read(r io.Reader) (*Result, error) {
	data, err := io.ReadAll(io.LimitReader(r, filecap.Result.Bytes+1))
	if err != nil {
		return nil, fmt.Errorf("reading the result: %w", err)
	}
	if int64(len(data)) > filecap.Result.Bytes {
		return nil, fmt.Errorf("not a jitbench result: larger than %s, the result file's size limit", filecap.Size(filecap.Result.Bytes))
	}
	data = bytes.TrimSpace(data)
	if len(data) == 0 {
		return nil, errors.New("not a jitbench result: the input is empty")
	}
	var probe any
	if err := json.Unmarshal(data, &probe); err != nil {
		var se *json.SyntaxError
		if errors.As(err, &se) && se.Offset >= int64(len(data)) {
			return nil, fmt.Errorf("truncated result: the JSON stops after %d bytes", len(data))
		}
		if errors.As(err, &se) {
			return nil, fmt.Errorf("not a jitbench result: not JSON (%v at byte %d)", se, se.Offset)
		}
		return nil, fmt.Errorf("not a jitbench result: %w", err)
	}
	obj, ok := probe.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("not a jitbench result: the JSON is %s, not an object", jsonKind(probe))
	}
	schema, ok := obj["schema"].(string)
	switch {
	case obj["schema"] == nil:
		return nil, errors.New(`not a jitbench result: no "schema" field`)
	case !ok:
		return nil, errors.New(`not a jitbench result: "schema" is not a string`)
	case schema != Schema && strings.HasPrefix(schema, "jitbench.result/"):
		return nil, fmt.Errorf("unsupported result schema %q: this jitbench reads %q", schema, Schema)
	case schema != Schema:
		return nil, fmt.Errorf("not a jitbench result: schema %q, want %q", schema, Schema)
	}

	res := new(Result)
	if err := json.Unmarshal(data, res); err != nil {
		return nil, describeJSONError(err)
	}
	if err := res.check(); err != nil {
		return nil, fmt.Errorf("inconsistent result: %w", err)
	}
	return res, nil
}

func jsonKind(v any) string {
	switch v.(type) {
	case []any:
		return "an array"
	case string:
		return "a string"
	case float64:
		return "a number"
	case bool:
		return "a boolean"
	}
	return "null"
}

// describeJSONError names the field a decoding error is about.
func describeJSONError(err error) error {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		field := te.Field
		if field == "" {
			field = "result"
		}
		if te.Type == histogramType {
			return fmt.Errorf("%s: %s", field, te.Value)
		}
		return fmt.Errorf("%s: got a JSON %s, want %s", field, te.Value, te.Type)
	}
	return fmt.Errorf("bad result: %w", err)
}

// check verifies that a result read from a file is whole and agrees with
// itself, and recomputes what is derived (timeline percentiles and offsets).
func (r *Result) check() error {
	if !r.Run.Mode.valid() {
		return fmt.Errorf("run.mode %q, want %q or %q", r.Run.Mode, OpenLoop, ClosedLoop)
	}
	if r.Run.Duration < 0 || time.Duration(r.Run.WarmUp) < 0 || r.Run.WarmUpCalls < 0 {
		return errors.New("run: negative duration or count")
	}
	if r.Calls < 0 || r.OverRange < 0 || r.OverRange > r.Calls {
		return fmt.Errorf("calls %d and over_range %d are impossible", r.Calls, r.OverRange)
	}
	if err := r.checkDiagnoses(); err != nil {
		return err
	}
	if r.Latency == nil {
		return errors.New(`no "latency" histogram`)
	}
	if n := r.Latency.Count(); n != r.Calls {
		return fmt.Errorf("latency holds %d calls, calls is %d", n, r.Calls)
	}
	if r.Codes == nil {
		r.Codes = map[string]int64{}
	}
	if r.LatencyByCode == nil {
		r.LatencyByCode = Histograms{}
	}
	if r.LatencyByReason == nil {
		r.LatencyByReason = Histograms{}
	}
	if r.Reasons == nil {
		r.Reasons = []ReasonCount{}
	}
	var sum int64
	for _, code := range sortedKeys(r.Codes) {
		n := r.Codes[code]
		if n < 0 {
			return fmt.Errorf("codes.%s is negative", code)
		}
		sum += n
		if got := r.LatencyByCode[code].Count(); got != n {
			return fmt.Errorf("latency_by_code.%s holds %d calls, codes.%s is %d", code, got, code, n)
		}
	}
	if sum != r.Calls {
		return fmt.Errorf("codes add up to %d, calls is %d", sum, r.Calls)
	}
	for _, code := range sortedKeys(r.LatencyByCode) {
		if _, ok := r.Codes[code]; !ok {
			return fmt.Errorf("latency_by_code.%s has no count in codes", code)
		}
	}
	perCode := map[string]int64{}
	perReason := map[string]int64{}
	seen := map[pairKey]bool{}
	for i, rc := range r.Reasons {
		k := pairKey{rc.Code, rc.Reason}
		switch {
		case rc.Reason == "":
			return fmt.Errorf("reasons[%d]: no reason", i)
		case rc.Calls < 0:
			return fmt.Errorf("reasons[%d]: negative count", i)
		case seen[k]:
			return fmt.Errorf("reasons[%d]: %s under %s listed twice", i, rc.Reason, rc.Code)
		}
		seen[k] = true
		perCode[rc.Code] += rc.Calls
		perReason[rc.Reason] += rc.Calls
	}
	for _, code := range sortedKeys(perCode) {
		if perCode[code] > r.Codes[code] {
			return fmt.Errorf("reasons under %s add up to %d, more than its %d calls", code, perCode[code], r.Codes[code])
		}
	}
	for _, reason := range sortedKeys(perReason) {
		if got := r.LatencyByReason[reason].Count(); got != perReason[reason] {
			return fmt.Errorf("latency_by_reason.%s holds %d calls, reasons count %d", reason, got, perReason[reason])
		}
	}
	for _, reason := range sortedKeys(r.LatencyByReason) {
		if _, ok := perReason[reason]; !ok {
			return fmt.Errorf("latency_by_reason.%s has no count in reasons", reason)
		}
	}
	sortReasons(r.Reasons)
	if err := r.checkMessages(); err != nil {
		return err
	}
	for _, name := range sortedKeys(r.Phases) {
		if r.Phases[name] == nil {
			return fmt.Errorf("phases.%s is null", name)
		}
	}
	if r.Timeline == nil {
		r.Timeline = []Second{}
	}
	if err := checkTimeline(r.Timeline, r.Run.Start, r.Run.End); err != nil {
		return err
	}
	var completed int64
	for _, s := range r.Timeline {
		completed += s.Completed
	}
	if completed != r.Calls {
		return fmt.Errorf("the timeline completes %d calls, calls is %d", completed, r.Calls)
	}
	return nil
}
