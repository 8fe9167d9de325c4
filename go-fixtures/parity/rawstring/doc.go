// Package rawstring checks that a raw string holding the text of a
// TestMain, as the tests of a code generator have, is not taken for one.
//
// The package has no TestMain of its own: its _test.go file has a raw
// string constant, generatedMain, with a line that starts with
// "func TestMain(m *testing.M) {". TestGeneratedSource parses that text
// as Go and finds its TestMain, and TestNoTestMainRan checks that no
// TestMain ran (one would have set mainRan). Nothing leaks; every test
// passes.
package rawstring
