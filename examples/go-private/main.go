// A service that depends on a private module (example.internal/greet), built with go-private.
package main

import (
	"fmt"

	"example.internal/greet"
)

func main() { fmt.Println(greet.Hello()) }
