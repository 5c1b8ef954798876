package reports

import (
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"

	hdr "github.com/HdrHistogram/hdrhistogram-go"
)

// sealLag is how many seconds a shard keeps a second open after a later one
// has started: completions arrive a little out of order across goroutines,
// and a second sealed early would only cost one more merge, never a count.
const sealLag = 2

// maxShards bounds the shards (with twice GOMAXPROCS), and so the memory:
// each shard holds a dense histogram (136 KiB) per (code, reason) pair and
// phase it has seen.
const maxShards = 64

// Sample is one finished call, or one timed phase of a call, as the load
// generator reports it to a Recorder.
type Sample struct {
	// Intended is when the pacer meant to send the call (open loop); zero in closed loop.
	Intended time.Time
	// Start is when the call was actually sent.
	Start time.Time
	// Latency is measured from Intended when it is set, else from Start.
	//
	// In open loop that is the intended send time, not the actual one, so a
	// call that waited behind a stalled server or a saturated client counts
	// the wait: measuring from the actual send hides a 2 s freeze in the
	// tail (coordinated omission).
	Latency time.Duration
	// Code is the gRPC code name, reason.CodeName(code); empty means OK, as codes.Code's zero value does.
	Code string
	// Reason is the machine reason of the status's ErrorInfo; empty when it carried none.
	Reason string
	// Message is the status message of a failed call; the recorder keeps
	// the most frequent ones per code and reason, cleaned by CleanMessage.
	Message string
	// Phase is empty for a whole call. Otherwise the sample times one phase of
	// a call ("grant", "approval_wait", "call") and is recorded only in
	// Result.Phases, so a call's phases never count as extra calls.
	Phase string
}

// base returns the time latency is measured from.
func (s *Sample) base() time.Time {
	if s.Intended.IsZero() {
		return s.Start
	}
	return s.Intended
}

// Recorder aggregates samples into a Result. It is safe for concurrent use
// and its memory does not grow with the number of calls.
//
// Record works on one of several shards, each with its own lock and
// histograms, and each core mostly gets back the shard it used last: load
// generator goroutines rarely wait for each other, and a shard's histograms
// stay in one core's cache (a shard picked at random cost 2.7 times as much
// per call on two cores). Finish merges the shards, which is exact because
// histograms of one geometry add bucket by bucket.
type Recorder struct {
	run Run

	// pool hands each P (in practice each core) the shard it used last, so
	// a shard's histograms stay in one core's cache. Every shard is also in
	// shards, so one the pool drops at a GC is not lost.
	pool     sync.Pool
	shardsMu sync.Mutex
	shards   []*shard

	nextShard int

	tlMu     sync.Mutex
	timeline map[int64]*Second // sealed seconds, by Unix time

	regMu      sync.Mutex
	registries map[pairKey]*messageRegistry // which messages are counted, per failed (code, reason)
}

type pairKey struct{ code, reason string }

// pairRec is what a shard records of one (code, reason): the latency
// histogram and, for failed calls, the status messages.
type pairRec struct {
	h    *hdr.Histogram
	msgs messageTally
}

// shard is one part of a Recorder's state, guarded by its own mutex.
type shard struct {
	mu       sync.Mutex
	pairs    map[pairKey]*pairRec
	phases   map[string]*hdr.Histogram
	live     map[int64]*liveSecond
	newest   int64 // newest completion second seen
	warmUp   int64
	over     int64
	first    time.Time // earliest base time
	last     time.Time // latest completion
	lastKey  pairKey   // most recent pair, so a run of one outcome skips the map
	lastPair *pairRec
	// Pads shards apart so two cores never fight over one cache line.
	_ [128]byte
}

var secondPool = sync.Pool{New: func() any { return newSecondHDR() }}

// NewRecorder returns a recorder for a run described by run. When run.Start
// is set, samples sent before it are the warm-up: counted in
// Run.WarmUpCalls and otherwise left out. Unset Start and End are taken from
// the samples by Finish.
func NewRecorder(run Run) *Recorder {
	run.Workers = slices.Clone(run.Workers)
	r := &Recorder{run: run, timeline: map[int64]*Second{}, registries: map[pairKey]*messageRegistry{}}
	r.pool.New = r.newShard
	return r
}

// newShard makes a shard for a P that has none, or, past the bound, hands
// out an existing one: two Ps then share it, which its mutex makes safe.
func (r *Recorder) newShard() any {
	r.shardsMu.Lock()
	defer r.shardsMu.Unlock()
	limit := min(maxShards, 2*runtime.GOMAXPROCS(0))
	if len(r.shards) >= limit {
		sh := r.shards[r.nextShard%len(r.shards)]
		r.nextShard++
		return sh
	}
	sh := &shard{}
	r.shards = append(r.shards, sh)
	return sh
}

// allShards returns the shards made so far.
func (r *Recorder) allShards() []*shard {
	r.shardsMu.Lock()
	defer r.shardsMu.Unlock()
	return slices.Clone(r.shards)
}

// Record adds one sample. It is safe for concurrent use.
func (r *Recorder) Record(s Sample) {
	base := s.base()
	sh := r.pool.Get().(*shard)
	sh.mu.Lock()
	var closed []sealed
	if !r.run.Start.IsZero() && base.Before(r.run.Start) {
		if s.Phase == "" {
			sh.warmUp++
		}
	} else {
		closed = sh.record(r, &s, base)
	}
	sh.mu.Unlock()
	r.pool.Put(sh)
	if len(closed) > 0 {
		r.seal(closed)
	}
}

// sealed is a live second a shard has closed, with its Unix time.
type sealed struct {
	unix int64
	sec  *liveSecond
}

// record adds s under the shard's lock and returns the seconds it closed.
func (sh *shard) record(r *Recorder, s *Sample, base time.Time) []sealed {
	us, over := toMicros(s.Latency)
	if s.Phase != "" {
		h := sh.phases[s.Phase]
		if h == nil {
			if sh.phases == nil {
				sh.phases = map[string]*hdr.Histogram{}
			}
			h = newRunHDR()
			sh.phases[strings.Clone(s.Phase)] = h
		}
		_ = h.RecordValue(us) // within the geometry: cannot fail
		return nil
	}
	code := s.Code
	if code == "" {
		code = "OK"
	}
	key := pairKey{code, s.Reason}
	pr := sh.lastPair
	if pr == nil || key != sh.lastKey {
		pr = sh.pairs[key]
		if pr == nil {
			if sh.pairs == nil {
				sh.pairs = map[pairKey]*pairRec{}
			}
			// Own copies: the caller's strings may be slices of a larger buffer.
			key = pairKey{strings.Clone(key.code), strings.Clone(key.reason)}
			pr = &pairRec{h: newRunHDR(), msgs: messageTally{reg: r.registry(key)}}
			sh.pairs[key] = pr
		}
		sh.lastKey, sh.lastPair = key, pr
	}
	_ = pr.h.RecordValue(us)
	if code != "OK" {
		pr.msgs.add(s.Message)
	}
	if over {
		sh.over++
	}

	end := base.Add(s.Latency)
	if sh.first.IsZero() || base.Before(sh.first) {
		sh.first = base
	}
	if end.After(sh.last) {
		sh.last = end
	}
	sent := s.Start
	if sent.IsZero() {
		sent = base
	}
	sh.second(sent.Unix()).sent++
	done := end.Unix()
	ls := sh.second(done)
	ls.completed++
	if ls.codes == nil {
		ls.codes = map[string]int64{}
	}
	ls.codes[sh.lastKey.code]++
	if ls.h == nil {
		ls.h = secondPool.Get().(*hdr.Histogram)
	}
	_ = ls.h.RecordValue(us)

	if done <= sh.newest {
		return nil
	}
	sh.newest = done
	var out []sealed
	for k, v := range sh.live {
		if k < done-sealLag {
			out = append(out, sealed{k, v})
			delete(sh.live, k)
		}
	}
	return out
}

func (sh *shard) second(unix int64) *liveSecond {
	ls := sh.live[unix]
	if ls == nil {
		if sh.live == nil {
			sh.live = map[int64]*liveSecond{}
		}
		ls = &liveSecond{}
		sh.live[unix] = ls
	}
	return ls
}

// registry returns the message registry of a (code, reason).
func (r *Recorder) registry(k pairKey) *messageRegistry {
	r.regMu.Lock()
	defer r.regMu.Unlock()
	g := r.registries[k]
	if g == nil {
		g = &messageRegistry{}
		r.registries[k] = g
	}
	return g
}

// seal moves closed seconds into the recorder's timeline, where they are
// kept encoded: a second costs a few hundred bytes once it is over.
func (r *Recorder) seal(secs []sealed) {
	r.tlMu.Lock()
	for _, s := range secs {
		dst := r.timeline[s.unix]
		if dst == nil {
			dst = &Second{Unix: s.unix}
			r.timeline[s.unix] = dst
		}
		dst.absorb(s.sec)
	}
	r.tlMu.Unlock()
	for _, s := range secs {
		if s.sec.h != nil {
			s.sec.h.Reset()
			secondPool.Put(s.sec.h)
		}
	}
}

// Finish returns the result of everything recorded so far. Recording may go
// on afterwards, and a later Finish includes it; the load generator calls
// Finish once every call has been recorded.
func (r *Recorder) Finish() *Result {
	pairs := map[pairKey]*hdr.Histogram{}
	msgs := map[pairKey]*messagePart{}
	phases := map[string]*hdr.Histogram{}
	run := r.run
	run.Workers = slices.Clone(r.run.Workers)
	var first, last time.Time
	var over int64
	for _, sh := range r.allShards() {
		sh.mu.Lock()
		for k, pr := range sh.pairs {
			mergeInto(pairs, k, pr.h)
			if k.code != "OK" {
				p := msgs[k]
				if p == nil {
					p = &messagePart{}
					msgs[k] = p
				}
				pr.msgs.addTo(p)
			}
		}
		for k, h := range sh.phases {
			mergeInto(phases, k, h)
		}
		run.WarmUpCalls += sh.warmUp
		over += sh.over
		if !sh.first.IsZero() && (first.IsZero() || sh.first.Before(first)) {
			first = sh.first
		}
		if sh.last.After(last) {
			last = sh.last
		}
		var live []sealed
		for k, v := range sh.live {
			live = append(live, sealed{k, v})
		}
		clear(sh.live)
		sh.mu.Unlock()
		r.seal(live)
	}

	if run.Start.IsZero() {
		run.Start = first
	}
	if run.End.IsZero() {
		run.End = last
	}
	run.Start, run.End = utc(run.Start), utc(run.End)
	if !run.Start.IsZero() && run.End.After(run.Start) {
		run.Duration = Duration(run.End.Sub(run.Start))
	}

	res := &Result{
		Schema:          Schema,
		Run:             run,
		OverRange:       over,
		Codes:           map[string]int64{},
		Reasons:         []ReasonCount{},
		Latency:         NewHistogram(),
		LatencyByCode:   Histograms{},
		LatencyByReason: Histograms{},
	}
	for k, h := range pairs {
		n := h.TotalCount()
		res.Calls += n
		res.Codes[k.code] += n
		res.Latency.h.Merge(h)
		addHist(res.LatencyByCode, k.code, h)
		if k.reason != "" {
			res.Reasons = append(res.Reasons, ReasonCount{Code: k.code, Reason: k.reason, Calls: n})
			addHist(res.LatencyByReason, k.reason, h)
		}
	}
	sortReasons(res.Reasons)
	for k, p := range msgs {
		// One part: the registry made every listed count complete.
		if mc, ok := combineMessages(k.code, k.reason, pairs[k].TotalCount(), []messagePart{*p}); ok {
			res.Messages = append(res.Messages, mc)
		}
	}
	sortMessageCounts(res.Messages)
	if len(phases) > 0 {
		res.Phases = Histograms{}
		for k, h := range phases {
			res.Phases[k] = &Histogram{h: h}
		}
	}

	r.tlMu.Lock()
	res.Timeline = buildTimeline(r.timeline, run.Start, run.End)
	r.tlMu.Unlock()
	return res
}

func mergeInto[K comparable](dst map[K]*hdr.Histogram, k K, h *hdr.Histogram) {
	d := dst[k]
	if d == nil {
		d = newRunHDR()
		dst[k] = d
	}
	d.Merge(h)
}

func addHist(dst Histograms, k string, h *hdr.Histogram) {
	d := dst[k]
	if d == nil {
		d = NewHistogram()
		dst[k] = d
	}
	d.h.Merge(h)
}

func sortReasons(rs []ReasonCount) {
	slices.SortFunc(rs, func(a, b ReasonCount) int {
		if c := strings.Compare(a.Code, b.Code); c != 0 {
			return c
		}
		return strings.Compare(a.Reason, b.Reason)
	})
}

// utc drops the location and the monotonic reading, so a time written to
// JSON and read back is equal to the original.
func utc(t time.Time) time.Time {
	if t.IsZero() {
		return t
	}
	return t.UTC()
}
