package rawstring

import (
	"go/ast"
	"go/parser"
	"go/token"
	"strings"
	"testing"
)

// generatedMain is what a code generator under test might be expected to
// write.
const generatedMain = `package gen_test

import (
	"os"
	"testing"
)

func TestMain(m *testing.M) {
	os.Exit(m.Run())
}
`

// mainRan would be set by a TestMain of this package's; there is none.
var mainRan bool

func TestGeneratedSource(t *testing.T) {
	if !strings.Contains(generatedMain, "\nfunc TestMain(m *testing.M) {\n") {
		t.Fatal("generatedMain has no TestMain line")
	}
	f, err := parser.ParseFile(token.NewFileSet(), "gen_test.go", generatedMain, 0)
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, d := range f.Decls {
		if fn, ok := d.(*ast.FuncDecl); ok && fn.Name.Name == "TestMain" {
			found = true
		}
	}
	if !found {
		t.Fatal("no TestMain declared in generatedMain")
	}
}

func TestNoTestMainRan(t *testing.T) {
	if mainRan {
		t.Fatal("a TestMain ran")
	}
}
