package analyzer

import (
	"go/ast"
	"go/constant"
	"go/types"
	"strconv"

	"golang.org/x/tools/go/types/typeutil"
)

// florFunc returns the name of the flor API function call calls ("Log",
// "Loop", ...), or "". It works through go/types, so aliased and dot
// imports are found too.
func florFunc(info *types.Info, call *ast.CallExpr) string {
	fn, ok := typeutil.Callee(info, call).(*types.Func)
	if !ok || fn.Pkg() == nil || fn.Pkg().Path() != FlorPath {
		return ""
	}
	if sig, ok := fn.Type().(*types.Signature); ok && sig.Recv() != nil {
		return ""
	}
	return fn.Name()
}

// constString returns the value of e when it is a constant string.
func constString(info *types.Info, e ast.Expr) (string, bool) {
	tv, ok := info.Types[e]
	if !ok || tv.Value == nil || tv.Value.Kind() != constant.String {
		return "", false
	}
	return constant.StringVal(tv.Value), true
}

// florQualifier returns how file refers to the flor package: its import
// name, "" for a dot import; ok is false when file does not import it.
func florQualifier(file *ast.File) (name string, ok bool) {
	for _, imp := range file.Imports {
		path, err := strconv.Unquote(imp.Path.Value)
		if err != nil || path != FlorPath {
			continue
		}
		switch {
		case imp.Name == nil:
			return "flor", true
		case imp.Name.Name == "_":
			continue
		case imp.Name.Name == ".":
			return "", true
		default:
			return imp.Name.Name, true
		}
	}
	return "", false
}
