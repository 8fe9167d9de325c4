module leakcheck.test/resources

go 1.21
