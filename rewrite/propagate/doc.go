// Package propagate carries new statements from the newest version of a Go
// package into an older version of it, so that a past run can be replayed
// with statements its code never had (`flor replay grad_norm`).
//
// The two versions are parsed, type-checked (by Package with their
// imports loaded, by Sources without them) and matched with GumTree (package
// rewrite/gumtree) as one tree per package, so code moved between files or
// into helper functions is followed. For each statement to carry:
//
//   - the statement is the innermost statement of a block that calls
//     flor.Log with the requested name (directly, as `x := flor.Log(...)`,
//     or nested in a longer expression), or the one at a given file:line;
//   - it is already present when GumTree maps it to an old statement logging
//     the same name, or when the old version has, anywhere, a statement
//     logging the same name with the same text once renamed. An old
//     statement logging the same name with other code is a conflict
//     (ErrConflict): replay would log the name twice;
//   - it is inserted after the nearest preceding statement of its block
//     that has a strong counterpart in the old version, inside the old
//     counterpart of its block when there is one, or, when the old version
//     has those statements in another order, after the last of their
//     counterparts there, so that all that ran before it in the new version
//     runs before it in the old; with no such statement, first in the old
//     counterpart of its block. A call statement mapped to a call with other
//     arguments (two fmt.Println about different things) is no anchor. The
//     statement never goes before the old definitions of the variables it
//     reads, and one that the new version has right after a definition goes
//     right after that definition's counterpart. When no place exists and
//     the statement around the block is new code too (a new if or loop
//     around the log), that statement is carried whole instead; otherwise
//     the statement fails with ErrNoContext;
//   - each identifier is renamed on evidence (rename.go): to the old object
//     its declaration and uses are mapped to most often (model → net), ties
//     going to its declaration's counterpart, when that object has what the
//     statement selects on it (fields, methods) and a value of the same
//     kind; else to the old object of the same kind in reach that fits, by
//     type, members and name similarity. A package-level name nothing maps
//     (a constant moved to another file and renamed) is looked for among the
//     old package's names by kind, value or type and name. With no sound
//     counterpart, the statement fails with ErrNoCounterpart, naming the
//     candidates rejected and why. Names of imported packages follow the
//     old file's imports, and an import the old file lacks is added. An
//     identifier that does not resolve in the old code at the insertion
//     point fails the statement with ErrNoCounterpart, naming it;
//   - a variable the statement declares that nothing in the old code uses
//     gets a `_ = x` line, and a statement that would redeclare old
//     variables fails with ErrConflict.
//
// A failed statement does not stop the others. Bad input (a version that
// does not parse, a name no statement logs) stops everything and nothing is
// returned to write.
//
// Output is made by text edits at byte offsets into the old files
// (rewrite.Apply), indented like the insertion point (lines inside raw
// strings excepted), so the old code's comments and layout stay. The
// result is checked: it must parse and type-check with every inserted
// identifier resolved. Package then loads the old version with its real
// dependencies (go/packages, in the old version's module) and fails with
// ErrTypeCheck every inserted statement the compiler finds an error in,
// naming the statement, where it went and the compiler's message; the
// others are inserted again without it. An old version that cannot be
// loaded so is ErrUnchecked: nothing is claimed to compile. Sources, which
// has no module, leaves that to Result.Check. A file that was gofmt-clean is gofmt-formatted
// again, which only changes alignment around the inserted lines; one that
// was not is left as edited. Only the files that change are returned.
//
// What propagate is not for: deciding which runs to replay or which loops
// to skip (package planner), instrumenting loops (package rewrite), or
// proving that the carried statement computes the same thing in the old
// code: a statement whose meaning depends on code that changed is carried
// as written.
package propagate
