module example.com/distroless-service

go 1.24.1
