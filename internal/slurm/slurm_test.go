package slurm

import (
	"maps"
	"testing"
)

func TestParseStates(t *testing.T) {
	out := "12_[3-5,7%2]|PENDING\n12_0|COMPLETED\n12_1|CANCELLED by 0\n13_2|RUNNING\n12_2|RUNNING\n"
	got := map[int]string{}
	parseStates(out, "12", got)
	want := map[int]string{0: Completed, 1: Cancelled, 2: Running, 3: Pending, 4: Pending, 5: Pending, 7: Pending}
	if !maps.Equal(got, want) {
		t.Errorf("states %v, want %v", got, want)
	}
}
