package runtime

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// ErrHome: the flor directory cannot be one: it names a file, or the file
// system's root.
var ErrHome = errors.New("unusable flor home")

// checkHome refuses a home that flor could only misuse, before anything is
// created: a regular file (or a path through one), where every run would
// fail to start, or "/", where runs/, objects/ and flor.duckdb would land
// at the top of the file system. what names the setting ("FLOR_HOME=x"),
// or is empty for the default home.
func checkHome(home, what string) error {
	name := home
	if what != "" {
		name = what
		if what != "FLOR_HOME="+home {
			name += " (" + home + ")"
		}
	}
	if filepath.Dir(home) == home {
		return fmt.Errorf("flor: %w: %s is the file system's root; set FLOR_HOME to a directory of its own, such as %s", ErrHome, name, filepath.Join(home, "flor"))
	}
	// The nearest existing ancestor decides whether MkdirAll can work.
	for d := home; ; d = filepath.Dir(d) {
		st, err := os.Stat(d)
		if err == nil {
			if st.IsDir() {
				return nil
			}
			if d == home && what == "" {
				return fmt.Errorf("flor: %w: %s is a file, not a directory; move it away, or set FLOR_HOME to a directory", ErrHome, name)
			}
			if d == home {
				return fmt.Errorf("flor: %w: %s is a file, not a directory; point FLOR_HOME at a directory (it is created if missing)", ErrHome, name)
			}
			return fmt.Errorf("flor: %w: %s is inside %s, which is a file, not a directory", ErrHome, name, d)
		}
		if filepath.Dir(d) == d {
			return nil
		}
	}
}
