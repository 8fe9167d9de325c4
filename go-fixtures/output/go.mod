module leakcheck.test/output

go 1.21
