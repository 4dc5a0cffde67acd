package propagate

import (
	"go/build"
	"os"
	"slices"
	"strings"
)

// Option adjusts how Package and TypeErrors load the versions.
type Option func(*options)

type options struct {
	buildFlags []string
}

// BuildFlags loads both versions with these go build flags (such as
// "-tags=special"), as the program is built: a file behind a build
// constraint that the flags satisfy is part of the package, and one they
// exclude is not. Without it, the default build context decides.
func BuildFlags(flags ...string) Option {
	return func(o *options) { o.buildFlags = append(o.buildFlags, flags...) }
}

func makeOptions(opts []Option) options {
	var o options
	for _, f := range opts {
		f(&o)
	}
	return o
}

// env is the go command's environment for the loads: as replay builds, the
// version's own module, never a workspace around the directory it was
// materialised in.
func (o options) env() []string { return append(os.Environ(), "GOWORK=off") }

// context is the build context that selects the package's files as the go
// command does with the flags: -tags adds its tags, -race the race tag.
func (o options) context() *build.Context {
	ctx := build.Default
	ctx.BuildTags = slices.Clone(ctx.BuildTags)
	for i := 0; i < len(o.buildFlags); i++ {
		f := strings.TrimPrefix(o.buildFlags[i], "-")
		f = strings.TrimPrefix(f, "-")
		var val string
		switch {
		case strings.HasPrefix(f, "tags="):
			val = strings.TrimPrefix(f, "tags=")
		case f == "tags" && i+1 < len(o.buildFlags):
			i++
			val = o.buildFlags[i]
		case f == "race" || f == "race=true":
			ctx.BuildTags = append(ctx.BuildTags, "race")
			continue
		default:
			continue
		}
		// The go command's -tags is a comma-separated list (spaces are
		// the old form).
		for _, t := range strings.FieldsFunc(val, func(r rune) bool { return r == ',' || r == ' ' }) {
			ctx.BuildTags = append(ctx.BuildTags, t)
		}
	}
	return &ctx
}
