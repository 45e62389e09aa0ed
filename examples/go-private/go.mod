module example.com/private-service

go 1.24.1

require example.internal/greet v1.0.0
