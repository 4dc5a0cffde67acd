package planner

import (
	"fmt"
	"path/filepath"
	"regexp"
	"strings"
)

// A failed step's output is long: a build prints every error of every
// package, a panic a stack per goroutine. The summary keeps the line that
// says what went wrong; the log keeps the rest.

// workerFailure is the line of a failed worker's output that says why:
// the panic (with where it happened in the replayed program's code), the
// runtime's fatal error, or else the output's last line. tree is the
// materialised snapshot, whose paths are shown relative to it.
func workerFailure(output, tree string) string {
	lines := strings.Split(strings.TrimSpace(output), "\n")
	for i, l := range lines {
		if strings.HasPrefix(l, "panic: ") || strings.HasPrefix(l, "fatal error: ") {
			if at := panicSite(lines[i+1:], tree); at != "" {
				return l + " (at " + at + ")"
			}
			return l
		}
	}
	// The flor runtime's own fatal errors: the last is the one it died of.
	for i := len(lines) - 1; i >= 0; i-- {
		if msg, ok := strings.CutPrefix(lines[i], "flor: "); ok {
			return msg
		}
	}
	for i := len(lines) - 1; i >= 0; i-- {
		if l := strings.TrimSpace(lines[i]); l != "" {
			return l
		}
	}
	return "no output"
}

// frameRE matches a stack frame's location line: "\t/path/file.go:12 +0x1f".
var frameRE = regexp.MustCompile(`^\t(.+\.go):(\d+)(?: \+0x[0-9a-f]+)?$`)

// panicSite is the first frame of a panic's stack in the program's own
// code (under tree), as file:line relative to tree; "" when none is.
func panicSite(stack []string, tree string) string {
	for _, l := range stack {
		m := frameRE.FindStringSubmatch(l)
		if m == nil {
			continue
		}
		if !filepath.IsAbs(m[1]) && !strings.ContainsRune(m[1], '/') {
			// A file named by a //line directive that florc wrote (after
			// a skip block or a guard): the program's own code.
			return m[1] + ":" + m[2]
		}
		rel, err := filepath.Rel(tree, m[1])
		if err != nil || !filepath.IsLocal(rel) {
			continue
		}
		return filepath.ToSlash(rel) + ":" + m[2]
	}
	return ""
}

// compileErrorRE matches a compiler or go command error with a position.
var compileErrorRE = regexp.MustCompile(`^\S+\.go:\d+(:\d+)?: `)

// buildFailure is the first error of a failed build's output, and how many
// more there are.
func buildFailure(output string) string {
	var first string
	more := 0
	var other []string
	for _, l := range strings.Split(strings.TrimSpace(output), "\n") {
		switch {
		case compileErrorRE.MatchString(l):
			if first == "" {
				first = l
			} else {
				more++
			}
		case strings.HasPrefix(l, "# "), strings.HasPrefix(l, "go: downloading "), strings.TrimSpace(l) == "":
			// package headers and progress: not the news
		default:
			other = append(other, l)
		}
	}
	switch {
	case first != "" && more > 0:
		return fmt.Sprintf("%s (and %d more)", first, more)
	case first != "":
		return first
	case len(other) > 0:
		return other[0]
	}
	return "no output"
}
