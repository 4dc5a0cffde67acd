package gitrecords

import (
	"context"
	"crypto/sha1"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	git "github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/config"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/go-git/go-git/v5/plumbing/transport"
)

// DefaultRemote is the remote Push and Pull use when given none.
const DefaultRemote = "origin"

// pushAttempts bounds how often Push merges and retries when another
// clone pushes between its fetch and its push.
const pushAttempts = 5

// remote resolves a configured remote's name, or a URL or path, to a
// go-git remote and the name its tracking refs go under.
func (r *Repo) remote(name string) (*git.Remote, string, error) {
	if name == "" {
		name = DefaultRemote
	}
	rem, err := r.git.Remote(name)
	if err == nil {
		return rem, name, nil
	}
	if !errors.Is(err, git.ErrRemoteNotFound) {
		return nil, "", fmt.Errorf("remote %q: %w", name, err)
	}
	_, statErr := os.Stat(name)
	if !strings.Contains(name, "://") && !strings.Contains(name, ":") && statErr != nil {
		return nil, "", fmt.Errorf("%w %q: not configured in this repository (git remote -v) and not a URL or a path", ErrNoRemote, name)
	}
	sum := sha1.Sum([]byte(name))
	track := "url-" + hex.EncodeToString(sum[:4])
	rem = git.NewRemote(r.git.Storer, &config.RemoteConfig{Name: track, URLs: []string{name}})
	return rem, track, nil
}

func tracking(remote, what string) plumbing.ReferenceName {
	return plumbing.ReferenceName(trackingPrefix + remote + "/" + what)
}

// remoteTips lists the remote's records ref and shadow branch (ZeroHash
// when absent).
func (r *Repo) remoteTips(ctx context.Context, rem *git.Remote) (records, shadow plumbing.Hash, err error) {
	var refs []*plumbing.Reference
	err = r.withAuth(ctx, rem, func(auth transport.AuthMethod) error {
		refs, err = rem.ListContext(ctx, &git.ListOptions{Auth: auth})
		return err
	})
	if errors.Is(err, transport.ErrEmptyRemoteRepository) {
		return plumbing.ZeroHash, plumbing.ZeroHash, nil
	}
	if err != nil {
		return plumbing.ZeroHash, plumbing.ZeroHash, fmt.Errorf("listing %s: %w", rem.Config().URLs[0], err)
	}
	for _, ref := range refs {
		switch ref.Name() {
		case RecordsRef:
			records = ref.Hash()
		case ShadowRef:
			shadow = ref.Hash()
		}
	}
	return records, shadow, nil
}

// fetch brings the remote's refs that exist (and that this clone does not
// already contain) into the tracking refs.
func (r *Repo) fetch(ctx context.Context, rem *git.Remote, track string, records, shadow plumbing.Hash) error {
	var specs []config.RefSpec
	if !records.IsZero() {
		specs = append(specs, config.RefSpec(fmt.Sprintf("+%s:%s", RecordsRef, tracking(track, "records"))))
	}
	if !shadow.IsZero() {
		specs = append(specs, config.RefSpec(fmt.Sprintf("+%s:%s", ShadowRef, tracking(track, "shadow"))))
	}
	if len(specs) == 0 {
		return nil
	}
	err := r.withAuth(ctx, rem, func(auth transport.AuthMethod) error {
		return rem.FetchContext(ctx, &git.FetchOptions{RemoteName: track, RefSpecs: specs, Tags: git.NoTags, Force: true, Auth: auth})
	})
	if err != nil && !errors.Is(err, git.NoErrAlreadyUpToDate) {
		return fmt.Errorf("fetching from %s: %w", rem.Config().URLs[0], err)
	}
	return nil
}

// mergeRecords merges the remote's records commit theirs into the local
// ref: nothing when the local ref contains it, a fast-forward when it is
// ahead with nothing else to keep, else a merge commit of the union.
func (r *Repo) mergeRecords(theirs plumbing.Hash, remote string, prog *progress, res *Result) error {
	if theirs.IsZero() {
		return nil
	}
	ours, err := r.tip(RecordsRef)
	if err != nil {
		return err
	}
	if !ours.IsZero() && r.isAncestor(theirs, ours) {
		return nil
	}
	of, err := readTree(r.git.Storer, ours)
	if err != nil {
		return err
	}
	tf, err := readTree(r.git.Storer, theirs)
	if err != nil {
		return err
	}
	merged, conflicts, err := merge(r.git.Storer, of, tf)
	if err != nil {
		return err
	}
	for _, c := range conflicts {
		prog.note("conflict: %s differs between this clone and %s; theirs is kept as %s", c.Path, remote, c.Kept)
	}
	res.Conflicts = append(res.Conflicts, conflicts...)
	for p, h := range merged {
		if of[p] != h {
			res.Fetched++
		}
	}
	next := theirs
	if !merged.sameAs(tf) || (!ours.IsZero() && !r.isAncestor(ours, theirs)) {
		tree, err := writeTree(r.git.Storer, merged)
		if err != nil {
			return fmt.Errorf("storing the merged records tree: %w", err)
		}
		parents := []plumbing.Hash{theirs}
		if !ours.IsZero() {
			parents = []plumbing.Hash{ours, theirs}
		}
		if next, err = r.commit(tree, parents, "flor records: merge "+remote); err != nil {
			return fmt.Errorf("storing the merged records commit: %w", err)
		}
	}
	return r.setRef(RecordsRef, next, ours)
}

// mergeShadow makes the local flor.shadow contain the remote's, so the
// snapshots of its runs stay reachable: a fast-forward, or a merge commit
// whose tree is the local tip's (the runtime compares new snapshots with
// the tip's tree). It holds the runtime's lock on the branch.
func (r *Repo) mergeShadow(theirs plumbing.Hash, remote string, res *Result) error {
	if theirs.IsZero() {
		return nil
	}
	unlock, err := r.lock(r.dir.ShadowLock(), 30*time.Second)
	if err != nil {
		return err
	}
	defer unlock()
	ours, err := r.tip(ShadowRef)
	if err != nil {
		return err
	}
	switch {
	case !ours.IsZero() && r.isAncestor(theirs, ours):
		return nil
	case ours.IsZero() || r.isAncestor(ours, theirs):
		res.ShadowForwarded = true
		return r.setRef(ShadowRef, theirs, ours)
	}
	c, err := object.GetCommit(r.git.Storer, ours)
	if err != nil {
		return fmt.Errorf("%w: %s: %w", ErrCorrupt, ShadowRef, err)
	}
	h, err := r.commit(c.TreeHash, []plumbing.Hash{ours, theirs}, "FLOR::Merge::"+remote)
	if err != nil {
		return fmt.Errorf("storing the %s merge: %w", ShadowRef, err)
	}
	res.ShadowMerged = true
	return r.setRef(ShadowRef, h, ours)
}

// sync fetches what the remote has that this clone lacks and merges it.
func (r *Repo) sync(ctx context.Context, rem *git.Remote, track string, records, shadow plumbing.Hash, prog *progress, res *Result) error {
	localRec, err := r.tip(RecordsRef)
	if err != nil {
		return err
	}
	localShadow, err := r.tip(ShadowRef)
	if err != nil {
		return err
	}
	needRec, needShadow := records, shadow
	if !records.IsZero() && !localRec.IsZero() && r.isAncestor(records, localRec) {
		needRec = plumbing.ZeroHash
	}
	if !shadow.IsZero() && !localShadow.IsZero() && r.isAncestor(shadow, localShadow) {
		needShadow = plumbing.ZeroHash
	}
	if err := r.fetch(ctx, rem, track, needRec, needShadow); err != nil {
		return err
	}
	if err := r.mergeRecords(needRec, track, prog, res); err != nil {
		return err
	}
	if err := r.mergeShadow(needShadow, track, res); err != nil {
		return err
	}
	return r.track(track, records, shadow)
}

// track notes what the remote holds (for Status), as far as this clone
// has the objects.
func (r *Repo) track(remote string, records, shadow plumbing.Hash) error {
	for what, h := range map[string]plumbing.Hash{"records": records, "shadow": shadow} {
		if h.IsZero() || r.git.Storer.HasEncodedObject(h) != nil {
			continue
		}
		if err := r.git.Storer.SetReference(plumbing.NewHashReference(tracking(remote, what), h)); err != nil {
			return fmt.Errorf("updating %s: %w", tracking(remote, what), err)
		}
	}
	return nil
}

// exchange is what Push and Pull share once begun: the records lock
// held, the remote resolved and the home recorded.
type exchange struct {
	unlock func()
	start  time.Time
	prog   *progress
	res    *Result
	rem    *git.Remote
	track  string
}

// begin takes the records lock, resolves remote (default origin) and
// records the home, as both Push and Pull start.
func (r *Repo) begin(ctx context.Context, remote string, opt Options) (*exchange, error) {
	unlock, err := r.lock(r.recordsLock(), time.Minute)
	if err != nil {
		return nil, err
	}
	x := &exchange{unlock: unlock, start: time.Now(), prog: newProgress(opt), res: &Result{}}
	if x.rem, x.track, err = r.remote(remote); err != nil {
		unlock()
		return nil, err
	}
	x.res.Remote = remote
	if x.res.Remote == "" {
		x.res.Remote = DefaultRemote
	}
	if err := r.record(ctx, opt, x.prog, x.res); err != nil {
		unlock()
		return nil, err
	}
	return x, nil
}

// Push records the home (as Record does), merges what the remote has that
// this clone lacks (as Pull does, without unpacking it), and pushes the
// records ref and flor.shadow to the remote (default origin): a
// configured remote's name, or a URL or path. The remote's refs move only
// once all objects have arrived, so an interrupted push leaves it as it
// was, and pushing again completes.
func (r *Repo) Push(ctx context.Context, remote string, opt Options) (*Result, error) {
	x, err := r.begin(ctx, remote, opt)
	if err != nil {
		return nil, err
	}
	defer x.unlock()
	start, prog, res, rem, track := x.start, x.prog, x.res, x.rem, x.track
	for attempt := 0; ; attempt++ {
		records, shadow, err := r.remoteTips(ctx, rem)
		if err != nil {
			return nil, err
		}
		if err := r.sync(ctx, rem, track, records, shadow, prog, res); err != nil {
			return nil, err
		}
		localRec, _ := r.tip(RecordsRef)
		localShadow, _ := r.tip(ShadowRef)
		var specs []config.RefSpec
		if !localRec.IsZero() && localRec != records {
			specs = append(specs, config.RefSpec(fmt.Sprintf("%s:%s", RecordsRef, RecordsRef)))
		}
		if !localShadow.IsZero() && localShadow != shadow {
			specs = append(specs, config.RefSpec(fmt.Sprintf("%s:%s", ShadowRef, ShadowRef)))
		}
		if len(specs) > 0 {
			prog.note("pushing to %s", rem.Config().URLs[0])
			err = r.withAuth(ctx, rem, func(auth transport.AuthMethod) error {
				return rem.PushContext(ctx, &git.PushOptions{RemoteName: track, RefSpecs: specs, Auth: auth})
			})
			if errors.Is(err, git.NoErrAlreadyUpToDate) {
				err = nil
			}
			if err != nil {
				// Another clone may have pushed since the listing: merge
				// its records and try again; else the error stands.
				nr, ns, lerr := r.remoteTips(ctx, rem)
				if lerr != nil || (nr == records && ns == shadow) {
					return nil, fmt.Errorf("pushing to %s: %w", rem.Config().URLs[0], err)
				}
				if attempt+1 >= pushAttempts {
					return nil, fmt.Errorf("%w: %s: %w", ErrRemoteMoving, rem.Config().URLs[0], err)
				}
				continue
			}
			res.Pushed = true
		}
		if err := r.track(track, localRec, localShadow); err != nil {
			return nil, err
		}
		res.Commit = localRec
		tree, err := readTree(r.git.Storer, localRec)
		if err != nil {
			return nil, err
		}
		res.fill(tree)
		res.Elapsed = time.Since(start)
		return res, nil
	}
}

// Pull records the home, fetches the remote's records ref and flor.shadow,
// merges them into this clone's (the union of runs; see the package
// comment for conflicts) and unpacks the result into the home. Pulling
// again changes nothing.
func (r *Repo) Pull(ctx context.Context, remote string, opt Options) (*Result, error) {
	x, err := r.begin(ctx, remote, opt)
	if err != nil {
		return nil, err
	}
	defer x.unlock()
	start, prog, res, rem, track := x.start, x.prog, x.res, x.rem, x.track
	records, shadow, err := r.remoteTips(ctx, rem)
	if err != nil {
		return nil, err
	}
	if err := r.sync(ctx, rem, track, records, shadow, prog, res); err != nil {
		return nil, err
	}
	if res.Commit, err = r.tip(RecordsRef); err != nil {
		return nil, err
	}
	if !res.Commit.IsZero() {
		if err := r.unpack(ctx, opt, prog, res); err != nil {
			return nil, err
		}
	}
	res.Elapsed = time.Since(start)
	return res, nil
}
