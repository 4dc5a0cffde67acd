package mlp

import (
	"fmt"
	"math"
	"math/rand/v2"
)

// MLP is a perceptron with one hidden ReLU layer and a softmax output.
// Weights are row-major, one row per output unit: W1 is Hidden×In, W2 is
// Out×Hidden. All its state is in exported fields so that encoding/gob saves
// and restores it exactly; the unexported scratch space is not state.
type MLP struct {
	In, Hidden, Out int
	W1, B1          []float64
	W2, B2          []float64

	s *scratch
}

// Grads holds the gradient of the mean batch loss for each parameter of an
// [MLP], in the same shapes.
type Grads struct {
	W1, B1 []float64
	W2, B2 []float64
}

// scratch is the per-batch working space of a forward and backward pass.
type scratch struct {
	x  []float64 // batch inputs, B×In
	nz [][]int32 // indices of the non-zero inputs of each row
	y  []uint8   // batch labels
	h  []float64 // hidden activations, B×Hidden
	z  []float64 // logits, then probabilities, B×Out
	dh []float64 // loss gradient at the hidden layer, B×Hidden
	g  Grads
}

// NewMLP returns a network with in inputs, hidden ReLU units and out
// classes. Weights are drawn from rng with He initialisation (normal with
// variance 2/fan-in), W1 first, row by row; biases start at zero.
func NewMLP(in, hidden, out int, rng *rand.Rand) *MLP {
	if in <= 0 || hidden <= 0 || out <= 0 {
		panic(fmt.Sprintf("mlp.NewMLP: sizes must be positive, got in=%d hidden=%d out=%d", in, hidden, out))
	}
	m := &MLP{
		In: in, Hidden: hidden, Out: out,
		W1: make([]float64, hidden*in), B1: make([]float64, hidden),
		W2: make([]float64, out*hidden), B2: make([]float64, out),
	}
	s1 := math.Sqrt(2 / float64(in))
	for i := range m.W1 {
		m.W1[i] = rng.NormFloat64() * s1
	}
	s2 := math.Sqrt(2 / float64(hidden))
	for i := range m.W2 {
		m.W2[i] = rng.NormFloat64() * s2
	}
	return m
}

// Params returns the parameter slices in a fixed order: W1, B1, W2, B2.
// They alias the model's storage.
func (m *MLP) Params() [][]float64 {
	return [][]float64{m.W1, m.B1, m.W2, m.B2}
}

// NumParams returns the number of scalar parameters.
func (m *MLP) NumParams() int {
	return len(m.W1) + len(m.B1) + len(m.W2) + len(m.B2)
}

// slices returns the gradient slices in the order of [MLP.Params].
func (g *Grads) slices() [][]float64 {
	return [][]float64{g.W1, g.B1, g.W2, g.B2}
}

// scratchFor returns the model's working space, sized for a batch of b rows.
func (m *MLP) scratchFor(b int) *scratch {
	s := m.s
	if s == nil || len(s.g.W1) != len(m.W1) || len(s.g.W2) != len(m.W2) {
		s = &scratch{g: Grads{
			W1: make([]float64, len(m.W1)), B1: make([]float64, len(m.B1)),
			W2: make([]float64, len(m.W2)), B2: make([]float64, len(m.B2)),
		}}
		m.s = s
	}
	if cap(s.nz) < b || len(s.x) < b*m.In || len(s.h) < b*m.Hidden || len(s.z) < b*m.Out {
		s.x = make([]float64, b*m.In)
		s.nz = make([][]int32, b)
		s.y = make([]uint8, b)
		s.h = make([]float64, b*m.Hidden)
		s.z = make([]float64, b*m.Out)
		s.dh = make([]float64, b*m.Hidden)
	}
	s.nz = s.nz[:b]
	s.y = s.y[:b]
	return s
}

// setInputs records the indices of the non-zero inputs of each row of x
// (B×In): MNIST images are mostly background, and skipping the zeros makes
// the first layer several times faster without changing its result.
func (m *MLP) setInputs(s *scratch, x []float64, b int) {
	for r := range b {
		row := x[r*m.In : (r+1)*m.In]
		nz := s.nz[r][:0]
		for i, v := range row {
			if v != 0 {
				nz = append(nz, int32(i))
			}
		}
		s.nz[r] = nz
	}
}

// forward computes hidden activations into s.h and class probabilities into
// s.z for the b rows of x, and returns the summed cross-entropy loss against
// y when y is not nil.
func (m *MLP) forward(s *scratch, x []float64, y []uint8, b int) float64 {
	in, hid, out := m.In, m.Hidden, m.Out
	var loss float64
	for r := range b {
		xr := x[r*in : (r+1)*in]
		nz := s.nz[r]
		hr := s.h[r*hid : (r+1)*hid]
		for j := range hid {
			w := m.W1[j*in : (j+1)*in]
			a := m.B1[j]
			for _, i := range nz {
				a += xr[i] * w[i]
			}
			if a < 0 {
				a = 0
			}
			hr[j] = a
		}
		zr := s.z[r*out : (r+1)*out]
		mx := math.Inf(-1)
		for k := range out {
			zr[k] = m.B2[k] + dot(hr, m.W2[k*hid:(k+1)*hid])
			if zr[k] > mx {
				mx = zr[k]
			}
		}
		var sum float64
		for k := range out {
			zr[k] -= mx
			sum += math.Exp(zr[k])
		}
		if y != nil {
			// -log softmax(z)[y] = log(sum exp(z - mx)) - (z[y] - mx)
			loss += math.Log(sum) - zr[y[r]]
		}
		for k := range out {
			zr[k] = math.Exp(zr[k])
		}
		for k := range out {
			zr[k] /= sum
		}
	}
	return loss
}

// gradient computes the mean cross-entropy loss of the b rows of x against y
// and its gradient into s.g. The inputs' non-zero indices must be set.
func (m *MLP) gradient(s *scratch, x []float64, y []uint8, b int) float64 {
	in, hid, out := m.In, m.Hidden, m.Out
	loss := m.forward(s, x, y, b) / float64(b)
	g := &s.g
	inv := 1 / float64(b)
	// Output layer: dz = (p - onehot(y)) / b, kept in s.z.
	for r := range b {
		zr := s.z[r*out : (r+1)*out]
		zr[y[r]] -= 1
		for k := range out {
			zr[k] *= inv
		}
	}
	clear(g.W2)
	clear(g.B2)
	for r := range b {
		zr := s.z[r*out : (r+1)*out]
		hr := s.h[r*hid : (r+1)*hid]
		for k := range out {
			axpy(g.W2[k*hid:(k+1)*hid], zr[k], hr)
			g.B2[k] += zr[k]
		}
	}
	// Hidden layer: dh = W2ᵀ dz, zero where the ReLU was off.
	for r := range b {
		zr := s.z[r*out : (r+1)*out]
		hr := s.h[r*hid : (r+1)*hid]
		dr := s.dh[r*hid : (r+1)*hid]
		clear(dr)
		for k := range out {
			axpy(dr, zr[k], m.W2[k*hid:(k+1)*hid])
		}
		for j := range hid {
			if hr[j] <= 0 {
				dr[j] = 0
			}
		}
	}
	// First layer: each row of gW1 is summed over the batch in row order.
	clear(g.B1)
	for j := range hid {
		gw := g.W1[j*in : (j+1)*in]
		clear(gw)
		for r := range b {
			d := s.dh[r*hid+j]
			if d == 0 {
				continue
			}
			g.B1[j] += d
			xr := x[r*in : (r+1)*in]
			for _, i := range s.nz[r] {
				gw[i] += d * xr[i]
			}
		}
	}
	return loss
}

func dot(a, b []float64) float64 {
	b = b[:len(a)]
	var s0, s1, s2, s3 float64
	i := 0
	for ; i+4 <= len(a); i += 4 {
		s0 += a[i] * b[i]
		s1 += a[i+1] * b[i+1]
		s2 += a[i+2] * b[i+2]
		s3 += a[i+3] * b[i+3]
	}
	for ; i < len(a); i++ {
		s0 += a[i] * b[i]
	}
	return (s0 + s1) + (s2 + s3)
}

// axpy adds a*x to y.
func axpy(y []float64, a float64, x []float64) {
	x = x[:len(y)]
	for i := range y {
		y[i] += a * x[i]
	}
}

// Adam is the Adam optimizer (Kingma & Ba) with PyTorch's defaults. It keeps
// its own first and second moment slices, in the order of [MLP.Params], and
// the number of steps taken; it does not point into the model, which is
// handed to [Adam.Step], so that each can be saved and restored on its own.
type Adam struct {
	LR, Beta1, Beta2, Eps float64
	T                     int64 // steps taken
	M, V                  [][]float64
}

// NewAdam returns an optimizer for m's parameters with learning rate lr,
// beta1 0.9, beta2 0.999 and epsilon 1e-8.
func NewAdam(m *MLP, lr float64) *Adam {
	a := &Adam{LR: lr, Beta1: 0.9, Beta2: 0.999, Eps: 1e-8}
	for _, p := range m.Params() {
		a.M = append(a.M, make([]float64, len(p)))
		a.V = append(a.V, make([]float64, len(p)))
	}
	return a
}

// Step applies one update to m's parameters from the gradient g.
// It panics when the shapes of m, g and the optimizer differ.
func (a *Adam) Step(m *MLP, g *Grads) {
	ps, gs := m.Params(), g.slices()
	if len(a.M) != len(ps) || len(a.V) != len(ps) {
		panic(fmt.Sprintf("mlp.Adam.Step: optimizer has %d/%d moment slices, model has %d parameters", len(a.M), len(a.V), len(ps)))
	}
	a.T++
	c1 := 1 - math.Pow(a.Beta1, float64(a.T))
	c2 := 1 - math.Pow(a.Beta2, float64(a.T))
	b1, b2, lr, eps := a.Beta1, a.Beta2, a.LR, a.Eps
	for n, p := range ps {
		gr, mo, ve := gs[n], a.M[n], a.V[n]
		if len(gr) != len(p) || len(mo) != len(p) || len(ve) != len(p) {
			panic(fmt.Sprintf("mlp.Adam.Step: parameter %d has %d values, gradient %d, moments %d/%d", n, len(p), len(gr), len(mo), len(ve)))
		}
		for i := range p {
			gi := gr[i]
			mi := b1*mo[i] + (1-b1)*gi
			vi := b2*ve[i] + (1-b2)*gi*gi
			mo[i], ve[i] = mi, vi
			p[i] -= lr * (mi / c1) / (math.Sqrt(vi/c2) + eps)
		}
	}
}

// TrainStep runs one Adam step of m on the rows idx of d and returns the
// batch's mean cross-entropy loss before the step.
func TrainStep(m *MLP, opt *Adam, d *Dataset, idx []int) float64 {
	if len(idx) == 0 {
		panic("mlp.TrainStep: empty batch")
	}
	if d.Dim != m.In {
		panic(fmt.Sprintf("mlp.TrainStep: data has %d inputs, model %d", d.Dim, m.In))
	}
	b := len(idx)
	s := m.scratchFor(b)
	d.gather(idx, s.x[:b*m.In], s.y)
	m.setInputs(s, s.x, b)
	loss := m.gradient(s, s.x, s.y, b)
	opt.Step(m, &s.g)
	return loss
}

// evalChunk is how many rows Evaluate runs through the network at once.
const evalChunk = 500

// Evaluate returns the fraction of d's rows whose most probable class (the
// first on ties) is the label.
func Evaluate(m *MLP, d *Dataset) float64 {
	if d.N == 0 {
		return math.NaN()
	}
	if d.Dim != m.In {
		panic(fmt.Sprintf("mlp.Evaluate: data has %d inputs, model %d", d.Dim, m.In))
	}
	s := m.scratchFor(min(evalChunk, d.N))
	idx := make([]int, 0, evalChunk)
	correct := 0
	for lo := 0; lo < d.N; lo += evalChunk {
		hi := min(lo+evalChunk, d.N)
		idx = idx[:0]
		for i := lo; i < hi; i++ {
			idx = append(idx, i)
		}
		b := hi - lo
		d.gather(idx, s.x[:b*m.In], s.y[:b])
		m.setInputs(s, s.x, b)
		m.forward(s, s.x, nil, b)
		for r := range b {
			zr := s.z[r*m.Out : (r+1)*m.Out]
			best := 0
			for k := 1; k < m.Out; k++ {
				if zr[k] > zr[best] {
					best = k
				}
			}
			if best == int(s.y[r]) {
				correct++
			}
		}
	}
	return float64(correct) / float64(d.N)
}
