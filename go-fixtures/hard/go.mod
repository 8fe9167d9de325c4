module leakcheck.test/hard

go 1.21
