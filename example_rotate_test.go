package jwesession_test

import (
	"context"
	"fmt"
	"log"
	"time"

	"github.com/jwesession/jwesession"
)

// A keys file: the JWESESSION_KEYS entries one per line, newest first,
// comments, and the time the promotion reached the last instance. From it
// the manager says when the previous primary is safe to retire.
func ExampleParseKeysFile() {
	kr, err := jwesession.ParseKeysFile(`# production session keys, newest first
k2:primary:second-secret-0123456789abcdefghijklm
k1:decrypt-only:first-secret-0123456789abcdefghijklmn
promoted: 2026-11-23T12:00:00Z
`)
	if err != nil {
		log.Fatal(err)
	}
	m, err := jwesession.New[User](jwesession.Config{}, kr)
	if err != nil {
		log.Fatal(err)
	}
	// promoted + the longest absolute lifetime any sign-in can have (here
	// the default RememberAbsoluteTimeout, 30 days) + Leeway (30s),
	// rounded up.
	at, ok := m.SafeToRetireAt()
	fmt.Println(kr)
	fmt.Println(at.UTC().Format(time.RFC3339), ok)
	// Output:
	// Keyring[k2:primary k1:decrypt-only; promoted 2026-11-23T12:00:00Z]
	// 2026-12-23T12:00:31Z true
}

// Keep a manager's keyring in step with its keys file: reloaded when the
// file changes (also through a Kubernetes secret volume) and on SIGHUP.
func ExampleManager_WatchKeysFile() {
	path := "/etc/myapp/session-keys"
	kr, err := jwesession.ParseKeysFile("k1:primary:first-secret-0123456789abcdefghijklmn")
	if err != nil {
		log.Fatal(err)
	}
	m, err := jwesession.New[User](jwesession.Config{}, kr)
	if err != nil {
		log.Fatal(err)
	}
	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	go func() { _ = m.WatchKeysFile(ctx, path, 0) }() // read every 2 s and on SIGHUP
	// … serve m.Middleware(mux) …
}
