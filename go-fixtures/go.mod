module leakcheck.test/fixtures

go 1.21
