package runtime

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func TestReadBlobChecksContentAddress(t *testing.T) {
	home := t.TempDir()
	data := []byte("the state of a model")
	sum := sha256.Sum256(data)
	h := hex.EncodeToString(sum[:])
	path := blobPath(home, h)
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	if got, err := readBlob(home, h); err != nil || !bytes.Equal(got, data) {
		t.Fatalf("intact blob: %q, %v", got, err)
	}
	flipped := bytes.Clone(data)
	flipped[3] ^= 0x01
	if err := os.WriteFile(path, flipped, 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := readBlob(home, h)
	if !errors.Is(err, ErrCorruptBlob) || !errors.Is(err, ErrCheckpoint) || !strings.Contains(err.Error(), path) {
		t.Errorf("flipped byte: %v; want ErrCorruptBlob naming %s", err, path)
	}
	if _, err := readBlob(home, h[:10]); !errors.Is(err, ErrCheckpoint) {
		t.Errorf("short hash: %v", err)
	}
}

// A replay that would restore a corrupt blob stops with a message that
// names the blob, the run and the iteration, and writes no end record.
func TestReplayRefusesCorruptBlob(t *testing.T) {
	dir := gitInit(t)
	orig := recordRun(t, dir, &trainer{})
	// The state after the last iteration: what a suffix replay restores.
	var last ckptRecord
	data, err := os.ReadFile(orig.File)
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range bytes.Split(data, []byte("\n")) {
		var c struct {
			K string `json:"k"`
			ckptRecord
		}
		if json.Unmarshal(line, &c) == nil && c.K == "ckpt" && c.B == "" {
			last = c.ckptRecord
		}
	}
	h := last.Objs["model"]
	if h == "" {
		t.Fatalf("no end-of-iteration checkpoint of model in %s", orig.File)
	}
	path := blobPath(orig.Home, h)
	blob, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	flipDecodable(t, blob, &(&trainer{}).Model)
	if err := os.WriteFile(path, blob, 0o644); err != nil {
		t.Fatal(err)
	}
	plan := Plan{ID: "t1", Home: orig.Home, ProjID: orig.ProjID, Tstamp: orig.Tstamp, Filename: orig.Filename,
		Record: orig.File, Names: []string{"final"}, Mode: ModeSuffix, Stop: -1, Suffix: true,
		Out: filepath.Join(t.TempDir(), "w0.jsonl")}
	pf := filepath.Join(t.TempDir(), "plan.json")
	pdata, _ := json.Marshal(plan)
	if err := os.WriteFile(pf, pdata, 0o644); err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	r, err := New(Options{Dir: dir, Stdout: discard{}, Stderr: &stderr, Env: testEnv(map[string]string{"FLOR_REPLAY": pf})})
	if err != nil {
		t.Fatal(err)
	}
	code := 0
	r.exit = func(c int) { panic(exitCode(c)) }
	func() {
		defer func() {
			if v := recover(); v != nil {
				c, ok := v.(exitCode)
				if !ok {
					panic(v)
				}
				code = int(c)
			}
		}()
		(&trainer{}).run(r)
		r.Commit()
	}()
	msg := stderr.String()
	if code == 0 {
		t.Fatalf("the replay restored a corrupt blob and went on:\n%s", msg)
	}
	for _, want := range []string{"corrupt blob", path, "run " + orig.Tstamp, "iteration 3"} {
		if !strings.Contains(msg, want) {
			t.Errorf("the message lacks %q:\n%s", want, msg)
		}
	}
	if out, _ := os.ReadFile(plan.Out); bytes.Contains(out, []byte(`"k":"end"`)) {
		t.Errorf("the worker's output has an end record:\n%s", out)
	}
}

// flipDecodable flips one bit of blob so that it still decodes into a
// value like ptr's, but a different one: the silent corruption only the
// content address catches.
func flipDecodable(t *testing.T, blob []byte, ptr any) {
	t.Helper()
	orig, err := json.Marshal(decoded(blob, ptr))
	if err != nil {
		t.Fatal(err)
	}
	for i := len(blob) - 1; i >= 0; i-- {
		blob[i] ^= 0x01
		if v := decoded(blob, ptr); v != nil {
			if got, _ := json.Marshal(v); !bytes.Equal(got, orig) {
				return
			}
		}
		blob[i] ^= 0x01
	}
	t.Fatal("no one-bit change of the blob decodes")
}

func decoded(blob []byte, ptr any) any {
	fresh := reflect.New(reflect.TypeOf(ptr).Elem()).Interface()
	if decodeInto(fresh, blob) != nil {
		return nil
	}
	return fresh
}

// BenchmarkReadBlob: what checking the content address adds to reading a
// 16 MiB checkpoint blob (compare the sha256 figure with the read alone).
func BenchmarkReadBlob(b *testing.B) {
	home := b.TempDir()
	data := bytes.Repeat([]byte("flor"), 4<<20)
	sum := sha256.Sum256(data)
	h := hex.EncodeToString(sum[:])
	path := blobPath(home, h)
	os.MkdirAll(filepath.Dir(path), 0o755)
	if err := os.WriteFile(path, data, 0o644); err != nil {
		b.Fatal(err)
	}
	b.Run("read", func(b *testing.B) {
		b.SetBytes(int64(len(data)))
		for b.Loop() {
			if _, err := os.ReadFile(path); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("read+sha256", func(b *testing.B) {
		b.SetBytes(int64(len(data)))
		for b.Loop() {
			if _, err := readBlob(home, h); err != nil {
				b.Fatal(err)
			}
		}
	})
}
