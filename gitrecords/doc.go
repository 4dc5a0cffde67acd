// Package gitrecords carries a flor home's records in the git repository,
// outside its working tree, so that they travel with the repository.
//
// Run files (runs/*.jsonl), finished replay results (replay/<id>/*.jsonl)
// and, unless left out, checkpoint blobs (objects/xx/...) are stored as git
// blobs in a tree that mirrors those paths, committed under the ref
// [RecordsRef]. Push sends that ref and the code snapshots of
// refs/heads/flor.shadow to a git remote, Pull fetches and merges them,
// and Unpack writes the ref's files back into the flor home, where the
// store (package storage) ingests them on its next read.
//
// Everything is content-addressed: the same files give the same tree, so
// recording or pushing twice adds nothing. Merging is a union: a run file
// present on both sides keeps the longer of two versions when one is a
// prefix of the other (run files are append-only); two different files for
// one name are a conflict, reported, and the other side's file is kept
// under conflicts/ (see [ConflictPath]). Nothing is ever deleted.
//
// The package never touches HEAD, the index, the working tree or a branch
// of the user's, and stores no credentials: remotes go through go-git's
// transports (file, ssh, https) with their default authentication (the ssh
// agent), and an https remote that asks for credentials gets those of
// git's credential helpers (git credential fill).
//
// It is not for reading records: that is package storage's job.
package gitrecords
