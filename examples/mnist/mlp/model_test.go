package mlp

import (
	"bytes"
	"encoding/gob"
	"math"
	"math/rand/v2"
	"testing"
)

// synthetic returns n random rows of dim bytes, about half of them zero,
// with labels in [0, classes).
func synthetic(n, dim, classes int, seed uint64) *Dataset {
	r := rand.New(rand.NewPCG(seed, 1))
	d := &Dataset{N: n, Dim: dim, Pixels: make([]uint8, n*dim), Labels: make([]uint8, n)}
	for i := range d.Pixels {
		if r.IntN(2) == 0 {
			d.Pixels[i] = uint8(1 + r.IntN(255))
		}
	}
	for i := range d.Labels {
		d.Labels[i] = uint8(r.IntN(classes))
	}
	return d
}

// lossAt returns the mean loss of m on rows idx of d.
func lossAt(m *MLP, d *Dataset, idx []int) float64 {
	b := len(idx)
	s := m.scratchFor(b)
	d.gather(idx, s.x[:b*m.In], s.y)
	m.setInputs(s, s.x, b)
	return m.forward(s, s.x, s.y, b) / float64(b)
}

func TestGradientMatchesFiniteDifferences(t *testing.T) {
	const in, hid, out = 7, 5, 4
	d := synthetic(6, in, out, 3)
	idx := []int{0, 1, 2, 3, 4, 5}
	m := NewMLP(in, hid, out, rand.New(rand.NewPCG(11, 0)))
	for i := range m.B1 { // biases away from zero so that the test sees them
		m.B1[i] = 0.1 * float64(i+1)
	}
	for i := range m.B2 {
		m.B2[i] = -0.05 * float64(i)
	}

	b := len(idx)
	s := m.scratchFor(b)
	d.gather(idx, s.x[:b*in], s.y)
	m.setInputs(s, s.x, b)
	m.gradient(s, s.x, s.y, b)
	analytic := [][]float64{
		append([]float64(nil), s.g.W1...), append([]float64(nil), s.g.B1...),
		append([]float64(nil), s.g.W2...), append([]float64(nil), s.g.B2...),
	}
	names := []string{"W1", "B1", "W2", "B2"}
	const h = 1e-6
	checked := 0
	for n, p := range m.Params() {
		for i := range p {
			orig := p[i]
			p[i] = orig + h
			lp := lossAt(m, d, idx)
			p[i] = orig - h
			lm := lossAt(m, d, idx)
			p[i] = orig
			num := (lp - lm) / (2 * h)
			got := analytic[n][i]
			if diff := math.Abs(num - got); diff > 1e-6+1e-4*math.Abs(num) {
				t.Errorf("%s[%d]: analytic gradient %.9g, finite difference %.9g", names[n], i, got, num)
			}
			if got != 0 {
				checked++
			}
		}
	}
	if checked < m.NumParams()/2 {
		t.Fatalf("only %d of %d gradient entries are non-zero: the check is too weak", checked, m.NumParams())
	}
}

// train runs steps Adam steps with batches drawn from a shuffle of d made
// with rng, one shuffle per pass, and returns the losses.
func train(m *MLP, opt *Adam, rng *rand.Rand, d *Dataset, batch, steps int) []float64 {
	var losses []float64
	var perm []int
	pos := d.N
	for range steps {
		if pos+batch > d.N {
			perm, pos = rng.Perm(d.N), 0
		}
		losses = append(losses, TrainStep(m, opt, d, perm[pos:pos+batch]))
		pos += batch
	}
	return losses
}

func sameBits(t *testing.T, what string, a, b []float64) {
	t.Helper()
	if len(a) != len(b) {
		t.Fatalf("%s: lengths %d and %d", what, len(a), len(b))
	}
	for i := range a {
		if math.Float64bits(a[i]) != math.Float64bits(b[i]) {
			t.Fatalf("%s[%d]: %v (%#x) != %v (%#x)", what, i, a[i], math.Float64bits(a[i]), b[i], math.Float64bits(b[i]))
		}
	}
}

func sameModel(t *testing.T, a, b *MLP, aOpt, bOpt *Adam) {
	t.Helper()
	names := []string{"W1", "B1", "W2", "B2"}
	pa, pb := a.Params(), b.Params()
	for i := range pa {
		sameBits(t, names[i], pa[i], pb[i])
	}
	if aOpt.T != bOpt.T {
		t.Fatalf("Adam steps %d != %d", aOpt.T, bOpt.T)
	}
	for i := range aOpt.M {
		sameBits(t, "Adam.M", aOpt.M[i], bOpt.M[i])
		sameBits(t, "Adam.V", aOpt.V[i], bOpt.V[i])
	}
}

func TestTrainingIsDeterministic(t *testing.T) {
	d := synthetic(200, 30, 10, 5)
	run := func(seed uint64) (*MLP, *Adam, []float64) {
		rng := rand.New(rand.NewPCG(seed, 7))
		m := NewMLP(30, 16, 10, rng)
		opt := NewAdam(m, 1e-2)
		return m, opt, train(m, opt, rng, d, 8, 60)
	}
	m1, o1, l1 := run(42)
	m2, o2, l2 := run(42)
	sameBits(t, "loss", l1, l2)
	sameModel(t, m1, m2, o1, o2)

	_, _, l3 := run(43)
	if math.Float64bits(l1[len(l1)-1]) == math.Float64bits(l3[len(l3)-1]) {
		t.Fatalf("seeds 42 and 43 gave the same final loss %v", l1[len(l1)-1])
	}
	if !(l1[len(l1)-1] < l1[0]) {
		t.Fatalf("loss did not fall: first %v, last %v", l1[0], l1[len(l1)-1])
	}
}

// gobRoundTrip encodes v and decodes it into into.
func gobRoundTrip(t *testing.T, v, into any) {
	t.Helper()
	var buf bytes.Buffer
	if err := gob.NewEncoder(&buf).Encode(v); err != nil {
		t.Fatalf("gob encode %T: %v", v, err)
	}
	if err := gob.NewDecoder(&buf).Decode(into); err != nil {
		t.Fatalf("gob decode %T: %v", into, err)
	}
}

// TestCheckpointRoundTripContinuesIdentically is what replay relies on:
// saving the model, the optimizer and the random source mid-training and
// going on from the restored copies gives the same bits as not stopping.
func TestCheckpointRoundTripContinuesIdentically(t *testing.T) {
	d := synthetic(120, 25, 10, 9)
	const batch, before, after = 8, 37, 45 // 37 steps end mid-pass

	pcg := rand.NewPCG(42, 7)
	rng := rand.New(pcg)
	m := NewMLP(25, 12, 10, rng)
	opt := NewAdam(m, 5e-3)
	// The shuffle position is loop state, not checkpointed state: restart
	// the pass at a checkpoint in both runs, as the example does per epoch.
	train(m, opt, rng, d, batch, before)

	mBytes, oBytes := new(bytes.Buffer), new(bytes.Buffer)
	if err := gob.NewEncoder(mBytes).Encode(m); err != nil {
		t.Fatal(err)
	}
	if err := gob.NewEncoder(oBytes).Encode(opt); err != nil {
		t.Fatal(err)
	}
	pcgBytes, err := pcg.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}

	// Reference: keep going without stopping.
	want := train(m, opt, rng, d, batch, after)

	// Restore into fresh objects.
	m2 := new(MLP)
	if err := gob.NewDecoder(bytes.NewReader(mBytes.Bytes())).Decode(m2); err != nil {
		t.Fatal(err)
	}
	o2 := new(Adam)
	if err := gob.NewDecoder(bytes.NewReader(oBytes.Bytes())).Decode(o2); err != nil {
		t.Fatal(err)
	}
	pcg2 := new(rand.PCG)
	if err := pcg2.UnmarshalBinary(pcgBytes); err != nil {
		t.Fatal(err)
	}
	got := train(m2, o2, rand.New(pcg2), d, batch, after)
	sameBits(t, "loss after restore into new objects", want, got)
	sameModel(t, m, m2, opt, o2)

	// Restore in place into objects that went on training, as replay does:
	// decoding must overwrite every value, and aliases of the slices (the
	// model's scratch space, the optimizer's moments) must stay valid.
	pcg3 := rand.NewPCG(1, 2)
	rng3 := rand.New(pcg3)
	m3 := NewMLP(25, 12, 10, rng3)
	o3 := NewAdam(m3, 5e-3)
	train(m3, o3, rng3, d, batch, 50)
	w1 := &m3.W1[0]
	if err := gob.NewDecoder(bytes.NewReader(mBytes.Bytes())).Decode(m3); err != nil {
		t.Fatal(err)
	}
	if err := gob.NewDecoder(bytes.NewReader(oBytes.Bytes())).Decode(o3); err != nil {
		t.Fatal(err)
	}
	if err := pcg3.UnmarshalBinary(pcgBytes); err != nil {
		t.Fatal(err)
	}
	if w1 != &m3.W1[0] {
		t.Errorf("decoding in place replaced W1's backing array")
	}
	got3 := train(m3, o3, rng3, d, batch, after)
	sameBits(t, "loss after restore in place", want, got3)
	sameModel(t, m, m3, opt, o3)
}

func TestAdamDoesNotAliasModel(t *testing.T) {
	m := NewMLP(4, 3, 2, rand.New(rand.NewPCG(1, 1)))
	opt := NewAdam(m, 1e-3)
	for i, p := range m.Params() {
		if &opt.M[i][0] == &p[0] || &opt.V[i][0] == &p[0] {
			t.Fatalf("optimizer moment %d shares the model's parameter storage", i)
		}
	}
	// A decoded copy of the model must be steppable by the original optimizer.
	var m2 MLP
	gobRoundTrip(t, m, &m2)
	g := &Grads{W1: make([]float64, len(m.W1)), B1: make([]float64, len(m.B1)),
		W2: make([]float64, len(m.W2)), B2: make([]float64, len(m.B2))}
	g.W1[0] = 1
	before := m2.W1[0]
	opt.Step(&m2, g)
	if m2.W1[0] >= before {
		t.Fatalf("a positive gradient did not lower the weight: %v -> %v", before, m2.W1[0])
	}
	if m.W1[0] != before {
		t.Fatalf("stepping the copy changed the original model")
	}
}

func TestAdamFirstStepMovesByLR(t *testing.T) {
	// Adam's first bias-corrected step is lr·sign(g) (up to epsilon).
	m := NewMLP(2, 2, 2, rand.New(rand.NewPCG(1, 1)))
	opt := NewAdam(m, 0.01)
	g := &Grads{W1: []float64{3, -0.5, 0, 1e-3}, B1: make([]float64, 2), W2: make([]float64, 4), B2: make([]float64, 2)}
	w := append([]float64(nil), m.W1...)
	opt.Step(m, g)
	for i, gi := range g.W1 {
		want := w[i]
		if gi > 0 {
			want -= 0.01
		} else if gi < 0 {
			want += 0.01
		}
		if math.Abs(m.W1[i]-want) > 1e-7 {
			t.Errorf("W1[%d]: gradient %v moved %v to %v, want %v", i, gi, w[i], m.W1[i], want)
		}
	}
	if opt.T != 1 {
		t.Fatalf("T = %d after one step", opt.T)
	}
}

func TestEvaluateCountsArgmax(t *testing.T) {
	// A network whose output is class 1 for any input where x0 > x1, else 0.
	m := &MLP{In: 2, Hidden: 2, Out: 2,
		W1: []float64{1, -1, -1, 1}, B1: []float64{0, 0},
		W2: []float64{0, 1, 1, 0}, B2: []float64{0, 0}}
	d := &Dataset{N: 4, Dim: 2,
		Pixels: []uint8{200, 10, 10, 200, 255, 0, 3, 4},
		Labels: []uint8{1, 0, 0, 0}}
	// rows: 1 right, 2 right, 3 wrong (predicted 1), 4 right
	if got := Evaluate(m, d); got != 0.75 {
		t.Fatalf("Evaluate = %v, want 0.75", got)
	}
}

func BenchmarkTrainStep(b *testing.B) {
	d := synthetic(1024, 784, 10, 1)
	// MNIST images are about 19% non-zero; thin the synthetic ones to match.
	for i := range d.Pixels {
		if i%5 != 0 {
			d.Pixels[i] = 0
		}
	}
	rng := rand.New(rand.NewPCG(1, 2))
	m := NewMLP(784, 128, 10, rng)
	opt := NewAdam(m, 1e-3)
	idx := rng.Perm(d.N)[:32]
	for b.Loop() {
		TrainStep(m, opt, d, idx)
	}
}
