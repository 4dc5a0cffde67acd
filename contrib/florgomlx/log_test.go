package florgomlx_test

import (
	"testing"

	"github.com/gomlx/gomlx/backends"

	"github.com/flordb/flor/contrib/florgomlx"
)

// TestMetricNames: the names LogMetrics logs a trainer's metrics under.
func TestMetricNames(t *testing.T) {
	s := newSetup(t, backends.MustNew())
	var got []string
	for _, m := range s.trainer.TrainMetrics() {
		got = append(got, florgomlx.MetricName(m))
	}
	want := []string{"batch_loss_regularization", "moving_average_loss_regularization", "moving_average_loss"}
	if len(got) != len(want) {
		t.Fatalf("metric names %q, want %q", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("metric %d is logged as %q, want %q", i, got[i], want[i])
		}
	}
}
