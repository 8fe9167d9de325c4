module leakcheck.test/adopt

go 1.21
