// A service for a distroless final stage: it reports the user it runs as.
package main

import (
	"fmt"
	"os"
)

func main() { fmt.Printf("uid=%d\n", os.Getuid()) }
