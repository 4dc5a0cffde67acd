package gitrecords

import (
	"fmt"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/format/packfile"
	"github.com/go-git/go-git/v5/plumbing/storer"
	"github.com/go-git/go-git/v5/storage/memory"
)

// packLimit bounds the bytes a packer holds before it writes them out, and
// is the size from which a blob is written on its own (a loose object)
// rather than held: checkpoint blobs may be large.
const packLimit = 64 << 20

// packWindow is how many objects the pack encoder compares each blob with
// for a delta. Run files of one program are alike, so deltas make the
// local pack small; the remote's pack is encoded anew by the push.
const packWindow = 10

// packer stores new objects as packs, a few large files, instead of one
// loose object (a compressed file, written and renamed) each: the first
// recording of a thousand runs is then a matter of one file.
type packer struct {
	repo    storer.EncodedObjectStorer
	pw      storer.PackfileWriter // nil: the storage writes loose objects only
	pending *memory.Storage
	hashes  []plumbing.Hash
	queued  map[plumbing.Hash]bool
	size    int
}

func newPacker(s storer.EncodedObjectStorer) *packer {
	pw, _ := s.(storer.PackfileWriter)
	return &packer{repo: s, pw: pw, pending: memory.NewStorage(), queued: map[plumbing.Hash]bool{}}
}

// blob stores content as a blob unless the repository has it, and returns
// its hash. It may be held until flush.
func (p *packer) blob(content []byte) (plumbing.Hash, error) {
	h := plumbing.ComputeHash(plumbing.BlobObject, content)
	if p.queued[h] || p.repo.HasEncodedObject(h) == nil {
		return h, nil
	}
	if p.pw == nil || len(content) >= packLimit {
		return storeBlob(p.repo, content)
	}
	obj := &plumbing.MemoryObject{}
	obj.SetType(plumbing.BlobObject)
	obj.Write(content) // a MemoryObject's Write never fails
	return h, p.add(obj)
}

// add holds a new object (one the repository lacks) for the next pack,
// writing the pack once the held objects reach packLimit.
func (p *packer) add(obj *plumbing.MemoryObject) error {
	if p.pw == nil {
		_, err := p.repo.SetEncodedObject(obj)
		return err
	}
	h := obj.Hash()
	if p.queued[h] {
		return nil
	}
	if _, err := p.pending.SetEncodedObject(obj); err != nil {
		return err
	}
	p.hashes = append(p.hashes, h)
	p.queued[h] = true
	p.size += int(obj.Size())
	if p.size >= packLimit {
		return p.flush()
	}
	return nil
}

// flush writes the held blobs as one pack; after it, the repository has
// them. A process killed before leaves at most a temporary pack file,
// which git ignores: no ref points at its objects yet.
func (p *packer) flush() error {
	if len(p.hashes) == 0 {
		return nil
	}
	w, err := p.pw.PackfileWriter()
	if err != nil {
		return fmt.Errorf("writing a pack: %w", err)
	}
	_, err = packfile.NewEncoder(w, p.pending, false).Encode(p.hashes, packWindow)
	if cerr := w.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("writing a pack of %d objects: %w", len(p.hashes), err)
	}
	for _, h := range p.hashes {
		if p.repo.HasEncodedObject(h) != nil {
			return fmt.Errorf("%w: object %s not found after writing its pack", ErrCorrupt, h)
		}
	}
	p.pending, p.hashes, p.queued, p.size = memory.NewStorage(), nil, map[plumbing.Hash]bool{}, 0
	return nil
}
