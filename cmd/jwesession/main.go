// Command jwesession is jwesession's key tool.
//
//	jwesession keygen    print a new random secret and its key entry
//
// keygen prints two lines: the secret (32 random bytes in base64url: use it
// as JWESESSION_SECRET), and the JWESESSION_KEYS entry for it as a new
// decrypt-only key ("ID:decrypt-only:SECRET"), ready to be added at the
// front of a keyring and promoted later.
package main

import (
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"io"
	"os"

	"github.com/jwesession/jwesession"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

const usage = `usage: jwesession keygen
  keygen   print a new secret, then its JWESESSION_KEYS entry as a new decrypt-only key
`

// run executes the tool and returns its exit code.
func run(args []string, stdout, stderr io.Writer) int {
	if len(args) != 1 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	switch args[0] {
	case "keygen":
		var b [32]byte
		_, _ = rand.Read(b[:])
		secret := base64.RawURLEncoding.EncodeToString(b[:])
		s, err := jwesession.NewSecret(secret)
		if err != nil { // cannot happen for 32 random bytes, but never print a refused secret
			fmt.Fprintln(stderr, "jwesession:", err)
			return 1
		}
		fmt.Fprintln(stdout, secret)
		fmt.Fprintf(stdout, "%s:decrypt-only:%s\n", jwesession.DefaultKeyID(s), secret)
		return 0
	case "-h", "-help", "--help", "help":
		fmt.Fprint(stdout, usage)
		return 0
	}
	fmt.Fprint(stderr, usage)
	return 2
}
