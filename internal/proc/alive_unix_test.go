//go:build unix

package proc

import (
	"os"
	"testing"
)

// A process of another user answers signal 0 with EPERM: it exists.
func TestAliveOtherUser(t *testing.T) {
	if os.Geteuid() == 0 {
		t.Skip("root may signal every process")
	}
	if !Alive(1) {
		t.Error("pid 1 (another user's) is not alive")
	}
}
