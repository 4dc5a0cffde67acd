package proc

import (
	"os"
	"os/exec"
	"testing"
)

func TestAlive(t *testing.T) {
	if !Alive(os.Getpid()) {
		t.Error("this process is not alive")
	}
	for _, pid := range []int{0, -1} {
		if Alive(pid) {
			t.Errorf("pid %d is alive", pid)
		}
	}
	// A process that has exited and been waited for is gone.
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	if err := cmd.Run(); err != nil {
		t.Fatal(err)
	}
	if Alive(cmd.Process.Pid) {
		t.Errorf("exited pid %d is alive", cmd.Process.Pid)
	}
}

func TestAliveOn(t *testing.T) {
	host, err := os.Hostname()
	if err != nil {
		t.Skip(err)
	}
	if alive, known := AliveOn(os.Getpid(), host); !alive || !known {
		t.Errorf("this process on this host: alive %v, known %v", alive, known)
	}
	if alive, known := AliveOn(os.Getpid(), host+"-elsewhere"); alive || known {
		t.Errorf("another host's pid: alive %v, known %v; want unknown", alive, known)
	}
	if alive, known := AliveOn(os.Getpid(), ""); alive || known {
		t.Errorf("no host: alive %v, known %v; want unknown", alive, known)
	}
	if alive, known := AliveOn(0, "elsewhere"); alive || !known {
		t.Errorf("pid 0: alive %v, known %v; want known dead", alive, known)
	}
}
