package measure

// edge is where acceptance flips along a probe's offset, in whole seconds.
type edge struct {
	// last is the largest offset accepted.
	last int64
	// above says even the bound was accepted: last is the bound, and the edge lies beyond it.
	above bool
}

// search finds the edge of accept in (lo, bound], accept holding at lo
// (the control call showed it): one probe at the bound, then a bisection,
// ⌈log2(bound−lo)⌉ + 1 probes in all. accept must hold up to the edge and
// not after it; whole-second claims blur that by a second at most.
func search(lo, bound int64, accept func(int64) (bool, error)) (edge, error) {
	ok, err := accept(bound)
	if err != nil {
		return edge{}, err
	}
	if ok {
		return edge{last: bound, above: true}, nil
	}
	hi := bound
	for hi-lo > 1 {
		mid := lo + (hi-lo)/2
		ok, err := accept(mid)
		if err != nil {
			return edge{}, err
		}
		if ok {
			lo = mid
		} else {
			hi = mid
		}
	}
	return edge{last: lo}, nil
}
