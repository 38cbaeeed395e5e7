package api

import (
	"math/rand/v2"
	"sort"
)

// pickVersion implements an alias's weighted routing: each additional
// version receives its weight's share of invocations, the primary the rest.
func pickVersion(primary string, weights map[string]float64) string {
	x := rand.Float64()
	keys := make([]string, 0, len(weights))
	for k := range weights {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if x < weights[k] {
			return k
		}
		x -= weights[k]
	}
	return primary
}
