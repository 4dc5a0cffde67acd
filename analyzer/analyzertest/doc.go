// Package analyzertest runs golden cases for florc's analyzer and
// instrumentation: txtar archives holding a main package that uses flor
// (files under in/) and what analysing, instrumenting and running it must
// give (an "analysis" file, files under out/, an "error" file for a case
// that must fail). It builds the programs in a temporary module, inside a
// temporary git repository, that uses the flor module of this working
// tree, runs them with a temporary FLOR_HOME, and reads their records.
// Other tests of florc use its temporary module too.
//
// What it is not for: any use outside tests.
package analyzertest
