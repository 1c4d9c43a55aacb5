// Package jwesession keeps a web service's login state in an encrypted
// cookie: the whole session is a JWE (A256GCM, direct key) in the cookie,
// and the server keeps nothing.
//
// A Manager holds the configuration and the current keyring. Its Middleware
// gives every request its own Session, reached through the request's
// context; the cookie is decrypted only when the handler first asks for the
// session, and a Set-Cookie header is written only when the session really
// changed or was explicitly cleared, renewed, touched, re-keyed, or is due
// for its sliding refresh.
//
//	kr, err := jwesession.KeyringFromEnv() // JWESESSION_SECRET or JWESESSION_KEYS
//	if err != nil { log.Fatal(err) }
//	m, err := jwesession.New[User](jwesession.Config{}, kr)
//	if err != nil { log.Fatal(err) }
//	mux.HandleFunc("GET /", func(w http.ResponseWriter, r *http.Request) {
//		s, _ := m.Session(r.Context())
//		if u, ok := s.Get(); ok { fmt.Fprintf(w, "hello %s", u.Name) }
//	})
//	http.ListenAndServe(addr, m.Middleware(mux))
//
// # Key rotation
//
// A Keyring lists keys newest first; exactly one is Primary (seals and
// opens), others are DecryptOnly (open) or Retired (recognised, rejected
// with ErrRetiredKey). Tokens carry their key's id as "kid"; the key is found
// by that id, never by trying keys in turn. A token opened with a
// decrypt-only key older than the primary is re-sealed under the primary on
// its next read, keeping its times. Manager.SetKeyring swaps the keyring
// atomically; requests in flight finish on the keyring they started with.
// To rotate a fleet without logging anybody out: add the new key as newest,
// decrypt-only, everywhere; then promote it everywhere; then retire the old
// key once the absolute lifetime has passed since the last instance loaded
// the promotion (Manager.SafeToRetireAt, from a keys file's "promoted:"
// line); then remove it. Manager.WatchKeysFile reloads a keys file (see
// ParseKeysFile) when it changes and on SIGHUP; Manager.Stats counts, per
// key and per process, tokens sealed, opened, re-keyed and rejected as
// retired. The jwesession command (cmd/jwesession) writes each step's keys
// file and inspects cookies.
//
// # Caching
//
// Every response whose handler read or wrote the session gets
// "Cache-Control: private, no-cache" (read) or "no-store, private" (wrote a
// cookie), "Vary: Cookie", and loses CDN-specific cache headers, applied
// when the headers are sent, whatever the handler set. Responses that never
// touch the session are left alone, so public pages stay cacheable.
//
// # Cookie size
//
// One cookie carries at most ChunkSize bytes of token. Config.MaxChunks
// (default 1) allows splitting a larger session into name.0, name.1, …;
// data that does not fit is an ErrTooLarge from Set or Update, and the
// previous cookie stays as it was.
package jwesession
