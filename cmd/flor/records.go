package main

import (
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/flordb/flor/gitrecords"
	"golang.org/x/term"
)

// This file holds what push, pull and unpack share: the repository, the
// progress options and the summary line.

// records opens the records of the flor home in the repository holding
// the working directory.
func (e *env) records() (*gitrecords.Repo, error) {
	h, err := e.home()
	if err != nil {
		return nil, err
	}
	return gitrecords.Open(e.dir, h)
}

// recordsOptions sends progress to stderr, as a counter on a terminal.
func (e *env) recordsOptions(noCheckpoints bool) gitrecords.Options {
	f, ok := e.stderr.(*os.File)
	return gitrecords.Options{
		NoCheckpoints: noCheckpoints,
		Progress:      e.stderr,
		Terminal:      ok && term.IsTerminal(int(f.Fd())),
	}
}

// summarise prints what an operation did, one line.
func summarise(w io.Writer, verb string, res *gitrecords.Result) {
	var b strings.Builder
	b.WriteString("flor: " + verb)
	fmt.Fprintf(&b, ": %s, %s, %s in %s", plural(res.Runs, "run"), plural(res.ReplayFiles, "replay file"),
		plural(res.Objects, "checkpoint blob"), gitrecords.RecordsRef)
	var parts []string
	if res.Recorded > 0 {
		parts = append(parts, plural(res.Recorded, "file")+" newly recorded")
	}
	if res.Fetched > 0 {
		parts = append(parts, plural(res.Fetched, "file")+" from "+res.Remote)
	}
	if res.Written+res.Extended > 0 {
		parts = append(parts, fmt.Sprintf("%s unpacked (%d grown)", plural(res.Written+res.Extended, "file"), res.Extended))
	}
	if res.ShadowMerged {
		parts = append(parts, "flor.shadow merged")
	} else if res.ShadowForwarded {
		parts = append(parts, "flor.shadow updated")
	}
	if len(res.Conflicts) > 0 {
		parts = append(parts, plural(len(res.Conflicts), "conflict")+" (both versions kept)")
	}
	if len(res.Skipped) > 0 {
		parts = append(parts, plural(len(res.Skipped), "file")+" skipped")
	}
	if len(parts) > 0 {
		b.WriteString("; " + strings.Join(parts, ", "))
	}
	fmt.Fprintf(&b, " (%.1fs)\n", res.Elapsed.Seconds())
	io.WriteString(w, b.String())
}

func plural(n int, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return fmt.Sprintf("%d %ss", n, what)
}

// statRecords adds the records lines to flor stat: what is local, what
// the records ref holds, and what origin had at the last push or pull.
func (e *env) statRecords(w io.Writer, home string) {
	r, err := gitrecords.Open(e.dir, home)
	if err != nil {
		return // not in a git repository: nothing to say
	}
	st, err := r.Status("")
	if err != nil {
		fmt.Fprintf(w, "records\t%v\n", err)
		return
	}
	fmt.Fprintf(w, "local\t%s, %d not yet in %s (flor push records them)\n", plural(st.LocalRuns, "run file"), st.Unrecorded, gitrecords.RecordsRef)
	fmt.Fprintf(w, "records\t%s (%s), %s (%s)\n", plural(st.RecordedRuns+st.ReplayFiles, "file"), bytesize(st.RecordBytes),
		plural(st.Objects, "checkpoint blob"), bytesize(st.BlobBytes))
	if st.Conflicts > 0 {
		fmt.Fprintf(w, "conflicts\t%s kept under conflicts/\n", plural(st.Conflicts, "file"))
	}
	if st.Tracked {
		fmt.Fprintf(w, "pushed\t%d of %d recorded runs on %s (at the last push or pull)\n", st.Pushed, st.RecordedRuns, st.Remote)
	} else {
		fmt.Fprintf(w, "pushed\tnever pushed to or pulled from %s\n", st.Remote)
	}
}
