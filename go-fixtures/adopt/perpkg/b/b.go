// Package b uses perpkg.Start; the rule for package a does not apply.
//
// want: TestStartInB=leak
package b
