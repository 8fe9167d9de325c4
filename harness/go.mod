module leakcheck.dev/harness

go 1.21
