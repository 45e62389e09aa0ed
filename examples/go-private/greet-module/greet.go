// Package greet stands for a private module: served only to clients with credentials.
package greet

// Hello is what the service prints.
func Hello() string { return "hello from a private module" }
