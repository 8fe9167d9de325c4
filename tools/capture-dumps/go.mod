module leakcheck.test/capturedumps

go 1.21
