module example.internal/greet

go 1.24
