module bench.example/dumpgen

go 1.21
