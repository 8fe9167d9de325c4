package directives

import "testing"

func TestDirectiveOnGo(t *testing.T) { Ignored() }

func TestUnmarkedGo(t *testing.T) { Unmarked() }

//leakcheck:ignore known leak, tracked in issue 42
func TestDirectiveOnTest(t *testing.T) { Unmarked() }
