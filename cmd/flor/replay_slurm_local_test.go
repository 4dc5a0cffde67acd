package main

import (
	"path/filepath"
	"strings"
	"testing"
)

// A local replay leaves to a Slurm replay the runs it still replays,
// rather than publish their values a second time; once that job is
// settled (cancelled here), a local replay does them.
func TestLocalReplaySkipsSlurmRuns(t *testing.T) {
	sp := recordOnSlurm(t)
	job, _ := sp.submitHeld()
	t.Cleanup(func() { slurmCmd(t, "scancel", job) })
	out, errs, code := sp.flor(sp.home, "replay", "--yes", "--workers", "2", "w_start,step_w")
	if code != 0 || strings.Count(out, ": Slurm job "+job+" is replaying it") != 4 || !strings.Contains(out, "replayed 0 of 4 runs") {
		t.Fatalf("local replay beside held Slurm job %s: exit %d, want its 4 runs skipped\n%s\n%s", job, code, out, errs)
	}
	t.Logf("local replay beside a held Slurm job:\n%s", out)
	if n := len(sp.values(sp.home)); n != 0 {
		t.Fatalf("%d values published beside the Slurm job, want 0", n)
	}
	slurmCmd(t, "scancel", job)
	sp.settle()
	out, errs, code = sp.flor(sp.home, "replay", "--yes", "--workers", "2", "w_start,step_w")
	if code != 0 || strings.Contains(out, "skipped: Slurm job") {
		t.Fatalf("local replay after scancel: exit %d\n%s\n%s", code, out, errs)
	}
	if n := len(sp.values(sp.home)); n != slurmWant {
		t.Errorf("%d values after the local replay, want %d", n, slurmWant)
	}
	if dirs, _ := filepath.Glob(filepath.Join(sp.home, "replay", "slurm-*")); len(dirs) != 0 {
		t.Errorf("work directories left: %v", dirs)
	}
}
