package gitrecords

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"os/exec"
	"strings"

	git "github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing/transport"
	githttp "github.com/go-git/go-git/v5/plumbing/transport/http"
)

// ErrCredentials: git's credential helpers gave no credentials the remote
// accepted.
var ErrCredentials = errors.New("no credentials for the remote")

// credential is what `git credential fill` answered for a URL: its
// attributes, given back to approve or reject.
type credential struct {
	attrs []byte
	auth  *githttp.BasicAuth
}

// withAuth runs op, a call to the remote, with the credentials found so
// far. go-git does not ask git's credential helpers, so when an https
// remote asks for authentication, the credentials come from
// `git credential fill` (the helpers the user configured for git: a
// keychain, a store, a cache, or a prompt on the terminal), op runs once
// more, and git is told whether they worked (approve or reject), as git
// itself does. flor stores nothing.
func (r *Repo) withAuth(ctx context.Context, rem *git.Remote, op func(transport.AuthMethod) error) error {
	err := op(r.authOf())
	url := rem.Config().URLs[0]
	if !authError(err) || r.cred != nil || !strings.HasPrefix(url, "https://") && !strings.HasPrefix(url, "http://") {
		return err
	}
	c, ferr := r.credentialFill(ctx, url)
	if ferr != nil {
		return fmt.Errorf("%w: %w (git credential fill: %v)", ErrCredentials, err, ferr)
	}
	r.cred = c
	err = op(r.authOf())
	switch {
	case authError(err):
		r.credentialTell(ctx, "reject", c)
		return fmt.Errorf("%w: the remote refused the credentials of git credential fill: %w", ErrCredentials, err)
	case err == nil || errors.Is(err, git.NoErrAlreadyUpToDate):
		r.credentialTell(ctx, "approve", c)
	}
	return err
}

func (r *Repo) authOf() transport.AuthMethod {
	if r.cred == nil {
		return nil // go-git's own: ssh agent, user:password in the URL
	}
	return r.cred.auth
}

func authError(err error) bool {
	return errors.Is(err, transport.ErrAuthenticationRequired) || errors.Is(err, transport.ErrAuthorizationFailed)
}

// credentialFill asks git for the credentials of url.
func (r *Repo) credentialFill(ctx context.Context, url string) (*credential, error) {
	cmd := exec.CommandContext(ctx, "git", "credential", "fill")
	cmd.Dir = r.dir.Top
	cmd.Stdin = strings.NewReader("url=" + url + "\n\n")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("%w: %s", err, strings.TrimSpace(stderr.String()))
	}
	c := &credential{attrs: out, auth: &githttp.BasicAuth{}}
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		k, v, _ := strings.Cut(sc.Text(), "=")
		switch k {
		case "username":
			c.auth.Username = v
		case "password":
			c.auth.Password = v
		}
	}
	if c.auth.Password == "" {
		return nil, errors.New("it gave no password")
	}
	return c, nil
}

// credentialTell passes git's answer back to its helpers ("approve": keep
// it; "reject": forget it). A failure here changes nothing for the push.
func (r *Repo) credentialTell(ctx context.Context, verb string, c *credential) {
	cmd := exec.CommandContext(ctx, "git", "credential", verb)
	cmd.Dir = r.dir.Top
	cmd.Stdin = bytes.NewReader(append(bytes.TrimRight(c.attrs, "\n"), '\n', '\n'))
	cmd.Run()
}
