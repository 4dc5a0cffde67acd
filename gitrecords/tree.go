package gitrecords

import (
	"bytes"
	"fmt"
	"io"
	"path"
	"sort"
	"strings"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/filemode"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/go-git/go-git/v5/plumbing/storer"
)

// files is a records tree flattened: slash-separated path → blob hash.
type files map[string]plumbing.Hash

// readTree flattens the tree of commit c (ZeroHash: an empty tree).
func readTree(s storer.EncodedObjectStorer, c plumbing.Hash) (files, error) {
	out := files{}
	if c.IsZero() {
		return out, nil
	}
	commit, err := object.GetCommit(s, c)
	if err != nil {
		return nil, fmt.Errorf("%w: commit %s: %w", ErrCorrupt, c, err)
	}
	tree, err := object.GetTree(s, commit.TreeHash)
	if err != nil {
		return nil, fmt.Errorf("%w: tree of %s: %w", ErrCorrupt, c, err)
	}
	return out, walkTree(s, tree, "", out)
}

func walkTree(s storer.EncodedObjectStorer, t *object.Tree, prefix string, out files) error {
	for _, e := range t.Entries {
		p := path.Join(prefix, e.Name)
		switch {
		case e.Mode == filemode.Dir:
			sub, err := object.GetTree(s, e.Hash)
			if err != nil {
				return fmt.Errorf("%w: tree %s: %w", ErrCorrupt, p, err)
			}
			if err := walkTree(s, sub, p, out); err != nil {
				return err
			}
		case e.Mode.IsFile():
			out[p] = e.Hash
		}
	}
	return nil
}

// writeTree stores fs as nested trees, in one pack, and returns the root
// tree's hash.
func writeTree(s storer.EncodedObjectStorer, fs files) (plumbing.Hash, error) {
	pk := newPacker(s)
	h, err := writeTrees(s, pk, fs)
	if err != nil {
		return h, err
	}
	return h, pk.flush()
}

func writeTrees(s storer.EncodedObjectStorer, pk *packer, fs files) (plumbing.Hash, error) {
	type dir struct {
		entries []object.TreeEntry
		subdirs map[string]*dir
	}
	root := &dir{subdirs: map[string]*dir{}}
	for p, h := range fs {
		parts := strings.Split(p, "/")
		d := root
		for _, name := range parts[:len(parts)-1] {
			sub := d.subdirs[name]
			if sub == nil {
				sub = &dir{subdirs: map[string]*dir{}}
				d.subdirs[name] = sub
			}
			d = sub
		}
		d.entries = append(d.entries, object.TreeEntry{Name: parts[len(parts)-1], Mode: filemode.Regular, Hash: h})
	}
	var store func(d *dir) (plumbing.Hash, error)
	store = func(d *dir) (plumbing.Hash, error) {
		for name, sub := range d.subdirs {
			h, err := store(sub)
			if err != nil {
				return h, err
			}
			d.entries = append(d.entries, object.TreeEntry{Name: name, Mode: filemode.Dir, Hash: h})
		}
		// git sorts directories as if their names ended in '/'.
		key := func(e object.TreeEntry) string {
			if e.Mode == filemode.Dir {
				return e.Name + "/"
			}
			return e.Name
		}
		sort.Slice(d.entries, func(i, j int) bool { return key(d.entries[i]) < key(d.entries[j]) })
		obj := &plumbing.MemoryObject{}
		if err := (&object.Tree{Entries: d.entries}).Encode(obj); err != nil {
			return plumbing.ZeroHash, err
		}
		if s.HasEncodedObject(obj.Hash()) == nil {
			return obj.Hash(), nil
		}
		return obj.Hash(), pk.add(obj)
	}
	return store(root)
}

// storeBlob writes content as a blob unless the repository has it.
func storeBlob(s storer.EncodedObjectStorer, content []byte) (plumbing.Hash, error) {
	h := plumbing.ComputeHash(plumbing.BlobObject, content)
	if s.HasEncodedObject(h) == nil {
		return h, nil
	}
	obj := s.NewEncodedObject()
	obj.SetType(plumbing.BlobObject)
	obj.SetSize(int64(len(content)))
	w, err := obj.Writer()
	if err != nil {
		return h, err
	}
	if _, err := w.Write(content); err != nil {
		return h, err
	}
	if err := w.Close(); err != nil {
		return h, err
	}
	return s.SetEncodedObject(obj)
}

// readBlob returns a blob's content.
func readBlob(s storer.EncodedObjectStorer, h plumbing.Hash) ([]byte, error) {
	obj, err := s.EncodedObject(plumbing.BlobObject, h)
	if err != nil {
		return nil, fmt.Errorf("%w: blob %s: %w", ErrCorrupt, h, err)
	}
	r, err := obj.Reader()
	if err != nil {
		return nil, fmt.Errorf("%w: blob %s: %w", ErrCorrupt, h, err)
	}
	defer r.Close()
	var b bytes.Buffer
	b.Grow(int(obj.Size()))
	if _, err := io.Copy(&b, r); err != nil {
		return nil, fmt.Errorf("%w: blob %s: %w", ErrCorrupt, h, err)
	}
	return b.Bytes(), nil
}
