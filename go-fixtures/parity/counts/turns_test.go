package counts

import "testing"

// Tests that follow one another: each counts goroutines at its start,
// while the one before it may be exiting (go test lets it finish first).
// leakcheck snapshots at every start; its snapshot must not leave the
// previous test's goroutine waiting to exit, counted at this start.

func TestCountInTurn01(t *testing.T) { countInTurn(t) }
func TestCountInTurn02(t *testing.T) { countInTurn(t) }
func TestCountInTurn03(t *testing.T) { countInTurn(t) }
func TestCountInTurn04(t *testing.T) { countInTurn(t) }
func TestCountInTurn05(t *testing.T) { countInTurn(t) }
func TestCountInTurn06(t *testing.T) { countInTurn(t) }
func TestCountInTurn07(t *testing.T) { countInTurn(t) }
func TestCountInTurn08(t *testing.T) { countInTurn(t) }
func TestCountInTurn09(t *testing.T) { countInTurn(t) }
func TestCountInTurn10(t *testing.T) { countInTurn(t) }
func TestCountInTurn11(t *testing.T) { countInTurn(t) }
func TestCountInTurn12(t *testing.T) { countInTurn(t) }
func TestCountInTurn13(t *testing.T) { countInTurn(t) }
func TestCountInTurn14(t *testing.T) { countInTurn(t) }
func TestCountInTurn15(t *testing.T) { countInTurn(t) }
func TestCountInTurn16(t *testing.T) { countInTurn(t) }
func TestCountInTurn17(t *testing.T) { countInTurn(t) }
func TestCountInTurn18(t *testing.T) { countInTurn(t) }
func TestCountInTurn19(t *testing.T) { countInTurn(t) }
func TestCountInTurn20(t *testing.T) { countInTurn(t) }
func TestCountInTurn21(t *testing.T) { countInTurn(t) }
func TestCountInTurn22(t *testing.T) { countInTurn(t) }
func TestCountInTurn23(t *testing.T) { countInTurn(t) }
func TestCountInTurn24(t *testing.T) { countInTurn(t) }
func TestCountInTurn25(t *testing.T) { countInTurn(t) }
func TestCountInTurn26(t *testing.T) { countInTurn(t) }
func TestCountInTurn27(t *testing.T) { countInTurn(t) }
func TestCountInTurn28(t *testing.T) { countInTurn(t) }
func TestCountInTurn29(t *testing.T) { countInTurn(t) }
func TestCountInTurn30(t *testing.T) { countInTurn(t) }
