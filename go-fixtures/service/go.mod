module leakcheck.test/service

go 1.21
