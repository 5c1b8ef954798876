package yamlfile

import "strings"

// Suggest returns the candidate closest to got, for "did you mean" hints,
// or "" when none is close enough to be a likely typo: a hint that names
// an unrelated word only misleads.
func Suggest(got string, candidates []string) string {
	if len(got) > 64 {
		return "" // no typo is that long, and the distance costs len(got) per candidate byte
	}
	best, bestDist := "", -1
	g := strings.ToLower(got)
	for _, c := range candidates {
		lc := strings.ToLower(c)
		if len(g) >= 3 && (strings.HasPrefix(lc, g) || strings.HasPrefix(g, lc)) {
			return c // a shortened or lengthened name: .Skew for .SkewSeen
		}
		d := editDistance(g, lc)
		if bestDist < 0 || d < bestDist {
			best, bestDist = c, d
		}
	}
	if bestDist < 0 || bestDist > max(2, len(got)/3) {
		return ""
	}
	return best
}

// DidYouMean is Suggest worded for the end of a message: ` (did you mean "x"?)` or "".
func DidYouMean(got string, candidates []string) string {
	if s := Suggest(got, candidates); s != "" && s != got {
		return ` (did you mean "` + s + `"?)`
	}
	return ""
}

// editDistance is the Levenshtein distance between a and b, in bytes;
// keys and names are ASCII, and a long input costs no more than its length
// times the candidate's.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
