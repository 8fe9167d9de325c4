// Package directives exercises //leakcheck:ignore: on a go statement, on
// the line above one, and on a test.
//
// want: TestDirectiveOnGo=pass/ignored:2 TestUnmarkedGo=leak TestDirectiveOnTest=pass/ignored:1
package directives

var never = make(chan int)

// Ignored starts two goroutines whose go statements carry directives.
func Ignored() {
	go func() { <-never }() //leakcheck:ignore lives for the process, see docs
	//leakcheck:ignore stopped at exit
	go func() { <-never }()
}

// Unmarked starts a goroutine with no directive.
func Unmarked() {
	go func() { <-never }() // want-leak: TestUnmarkedGo
}
