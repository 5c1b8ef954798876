package fakes

import (
	"fmt"
	"strings"
)

// layerEffect records on env the effect of a fault made of layers: what
// words it, given how often the system met them in all, counted in noun
// ("6 calls"), e.g. "left the grant off 6 calls".
func layerEffect(env Env, noun string, what func(met string) string, layers ...*Layer) {
	env.Effect(func() Effect {
		var n int64
		for _, l := range layers {
			n += l.Met()
		}
		return Effect{What: what(count(n, noun)), Met: n}
	})
}

// count writes n nouns: "1 call", "3 calls", "0 calls".
func count(n int64, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	if strings.HasSuffix(noun, "s") || strings.HasSuffix(noun, "ch") {
		return fmt.Sprintf("%d %ses", n, noun)
	}
	return fmt.Sprintf("%d %ss", n, noun)
}
