module leakcheck.test/hints

go 1.21
