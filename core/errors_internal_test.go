package core

import (
	"go/ast"
	"go/parser"
	"go/token"
	"slices"
	"strings"
	"testing"
)

// Every sentinel errors.go declares has its row in errorTable, which says what it answers; and
// no other file of the package declares one.
func TestEverySentinelHasARow(t *testing.T) {
	t.Parallel()
	f, err := parser.ParseFile(token.NewFileSet(), "errors.go", nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	var declared []string
	for _, d := range f.Decls {
		g, ok := d.(*ast.GenDecl)
		if !ok || g.Tok != token.VAR {
			continue
		}
		for _, sp := range g.Specs {
			for _, n := range sp.(*ast.ValueSpec).Names {
				if strings.HasPrefix(n.Name, "Err") {
					declared = append(declared, n.Name)
				}
			}
		}
	}
	var rows []string
	ast.Inspect(f, func(n ast.Node) bool {
		if kv, ok := n.(*ast.KeyValueExpr); ok {
			if k, ok := kv.Key.(*ast.Ident); ok && k.Name == "kind" {
				if v, ok := kv.Value.(*ast.Ident); ok {
					rows = append(rows, v.Name)
				}
			}
		}
		return true
	})
	if len(declared) < 25 {
		t.Fatalf("found %d sentinels in errors.go, want them all", len(declared))
	}
	for _, name := range declared {
		if !slices.Contains(rows, name) {
			t.Errorf("%s has no row in errorTable", name)
		}
	}
	for i := range errorTable {
		if rowOf(errorTable[i].kind) != &errorTable[i] {
			t.Errorf("row %d: its sentinel has an earlier row", i)
		}
	}
}
