package cli

// Closest returns the name of names nearest to s, for "did you mean": the
// one a typo away (an edit distance of at most a third of its length: none
// for names shorter than 3, where any other name is a typo away), or the
// only one that s begins; "" when none is near.
func Closest(s string, names []string) string {
	best, bestDist := "", 0
	for _, n := range names {
		limit := len(n) / 3
		if d := distance(s, n); d <= limit && d < len(s) && (best == "" || d < bestDist) {
			best, bestDist = n, d
		}
	}
	if best != "" || s == "" {
		return best
	}
	var prefixed []string
	for _, n := range names {
		if len(n) > len(s) && n[:len(s)] == s {
			prefixed = append(prefixed, n)
		}
	}
	if len(prefixed) == 1 {
		return prefixed[0]
	}
	return ""
}

// distance is the Levenshtein distance between a and b, in bytes, with a
// swap of two neighbours counted as one edit.
func distance(a, b string) int {
	// d[i][j] is the distance between a[:i] and b[:j]; three rows suffice.
	prev2 := make([]int, len(b)+1)
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
			if i > 1 && j > 1 && a[i-1] == b[j-2] && a[i-2] == b[j-1] {
				cur[j] = min(cur[j], prev2[j-2]+1)
			}
		}
		prev2, prev, cur = prev, cur, prev2
	}
	return prev[len(b)]
}
