package runtime

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

func init() {
	// fileSizeLimit makes its run file refuse writes for a while: the
	// file size limit (RLIMIT_FSIZE) stands for a full disk, a real file
	// whose writes fail (EFBIG) in the kernel. With FLOR_TEST_RECOVER set,
	// the limit is lifted before Commit.
	children["fileSizeLimit"] = func() {
		signal.Ignore(syscall.SIGXFSZ) // the write fails instead of killing
		r := childRun()
		Log(r, "before", 1)
		r.sync()
		st, err := os.Stat(r.File)
		if err != nil {
			panic(err)
		}
		var old syscall.Rlimit
		if err := syscall.Getrlimit(syscall.RLIMIT_FSIZE, &old); err != nil {
			panic(err)
		}
		if err := syscall.Setrlimit(syscall.RLIMIT_FSIZE, &syscall.Rlimit{Cur: uint64(st.Size()), Max: old.Max}); err != nil {
			panic(err)
		}
		for i := range 5 {
			Log(r, "during", i)
		}
		r.sync()
		r.sync()
		if os.Getenv("FLOR_TEST_RECOVER") != "" {
			if err := syscall.Setrlimit(syscall.RLIMIT_FSIZE, &old); err != nil {
				panic(err)
			}
		}
		Log(r, "after", 1)
		if err := r.Commit(); err != nil {
			fmt.Fprintf(os.Stderr, "commit: %v (ErrLost %v)\n", err, errors.Is(err, ErrLost))
			os.Exit(3)
		}
	}
}

func runFileSizeLimit(t *testing.T, recover bool) (dir, stderr string, code int) {
	t.Helper()
	dir = gitInit(t)
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "FLOR_TEST_CHILD=fileSizeLimit", "FLOR_TEST_DIR="+dir, "FLOR_PROGRESS=0", "FLOR_ECHO=0")
	if recover {
		cmd.Env = append(cmd.Env, "FLOR_TEST_RECOVER=1")
	}
	var out strings.Builder
	cmd.Stderr = &out
	err := cmd.Run()
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return dir, out.String(), code
}

func TestRecordsWaitForTheDiskAndAreWritten(t *testing.T) {
	dir, stderr, code := runFileSizeLimit(t, true)
	if code != 0 {
		t.Fatalf("exit %d, stderr:\n%s", code, stderr)
	}
	files, _ := filepath.Glob(filepath.Join(dir, ".flor", "runs", "*.jsonl"))
	if len(files) != 1 {
		t.Fatalf("run files %v", files)
	}
	want := "flor: error: write " + files[0] + ": file too large; the records not yet written are kept in memory (up to 64 MiB) and retried every second\n" +
		"flor: writing " + files[0] + " works again; no records were lost\n"
	if stderr != want {
		t.Errorf("stderr %q, want %q", stderr, want)
	}
	got := logged(t, files[0], false)
	if len(got["/before"]) != 1 || len(got["/during"]) != 5 || len(got["/after"]) != 1 {
		t.Errorf("logged %v, want every record", got)
	}
	if recs := readRecords(t, files[0]); recs[len(recs)-1]["k"] != "end" {
		t.Errorf("last record %v, want the end", recs[len(recs)-1])
	}
}

func TestRecordsLostToTheDiskAreCounted(t *testing.T) {
	dir, stderr, code := runFileSizeLimit(t, false)
	if code != 3 {
		t.Fatalf("exit %d, want Commit's error; stderr:\n%s", code, stderr)
	}
	files, _ := filepath.Glob(filepath.Join(dir, ".flor", "runs", "*.jsonl"))
	if len(files) != 1 {
		t.Fatalf("run files %v", files)
	}
	if n := strings.Count(stderr, "flor: error: write "+files[0]+": file too large"); n != 1 {
		t.Errorf("stderr %q: %d reports of the fault, want 1", stderr, n)
	}
	// during ×5, after and end.
	if !strings.Contains(stderr, "commit: records lost: 7 records were not written to "+files[0]+": write "+files[0]+": file too large (ErrLost true)") {
		t.Errorf("stderr %q: Commit's error does not count the lost records", stderr)
	}
	if got := logged(t, files[0], false); len(got["/before"]) != 1 {
		t.Errorf("logged %v, want the records before the fault kept", got)
	}
}
