// Package examples holds flor's example training programs; it exports
// their sources so that `flor demo` can lay one out in a scratch project.
package examples

import _ "embed"

// MNISTMain is the source of examples/mnist/main.go: the training script
// of FlorDB's tutorial in Go. Its model code lives in package
// github.com/flordb/flor/examples/mnist/mlp.
//
//go:embed mnist/main.go
var MNISTMain []byte
