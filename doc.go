// Package jwesession keeps a web service's login state in an encrypted
// cookie: the whole session is a JWE (A256GCM, direct key) in the cookie,
// and the server keeps nothing.
//
// A Manager holds the configuration and the current keyring. Its Middleware
// gives every request its own Session, reached through the request's
// context; the cookie is decrypted only when the handler first asks for the
// session, and the session's cookie is written only on a real write: the
// data changed, or the session was signed in, renewed, touched or cleared.
// A read never writes it, so no concurrent read can undo a write.
//
//	kr, err := jwesession.KeyringFromEnv() // JWESESSION_SECRET or JWESESSION_KEYS
//	if err != nil { log.Fatal(err) }
//	m, err := jwesession.New[User](jwesession.Config{}, kr)
//	if err != nil { log.Fatal(err) }
//	mux.HandleFunc("GET /", func(w http.ResponseWriter, r *http.Request) {
//		s, _ := m.Session(r.Context())
//		if u, ok := s.Get(); ok { fmt.Fprintf(w, "hello %s", u.Name) }
//	})
//	// SameSite=Lax does not stop a cross-site POST to a sign-in or
//	// sign-out route: reject cross-origin requests before the session.
//	http.ListenAndServe(addr, http.NewCrossOriginProtection().Handler(m.Middleware(mux)))
//
// The handler must write its response, error pages included, through the
// writer the middleware hands on: with a framework, wrap its whole handler
// (gin's engine, echo's instance) rather than run its chain inside the
// middleware. The examples module (examples/ in the repository) shows
// net/http's ServeMux, chi, gorilla/mux, echo and gin.
//
// # Sign-ins, flashes, schema changes
//
// SignIn starts a browser-session sign-in (cookies without Max-Age, which
// the browser drops when it closes), SignInRemembered a "remember me" one
// with persistent cookies and its own lifetimes; the choice lives in the
// token. AddFlash and Flashes carry one-time messages across a redirect in
// a cookie of their own, never in the session. A token whose data no
// longer decodes into T (a deploy changed it) is ErrDataDecode; a
// MigrateSession method on *T (Migrator) reads the old shape instead. The
// jwesessiontest package signs test requests in and reads back what a
// response left.
//
// # Concurrent responses
//
// A browser applies each response's Set-Cookie as the response arrives, and
// requests in flight carry the same old cookie, so any response may land
// last. The sliding refresh (a read past Config.RefreshAfter) therefore
// writes only a small companion cookie that holds no data, and extends the
// idle expiry; a sign-out (Clear) leaves a small tombstone cookie naming
// the sign-in, so a late response of the same sign-in cannot sign the user
// in again (ErrSignedOut); every write deletes every other cookie name the
// session could use. Two concurrent writes: the last to arrive wins.
//
// # Key rotation
//
// A Keyring lists keys newest first; exactly one is Primary (seals and
// opens), others are DecryptOnly (open) or Retired (recognised, rejected
// with ErrRetiredKey). Tokens carry their key's id as "kid"; the key is found
// by that id, never by trying keys in turn. A token under a decrypt-only
// key is read as it is and sealed under the primary at its next write; it
// keeps the key its sign-in was first sealed under (its origin), and a
// token whose origin is retired is refused, so retiring a leaked key ends
// everything forged under it. Manager.SetKeyring swaps the keyring
// atomically; requests in flight finish on the keyring they started with.
// To rotate a fleet without logging anybody out: add the new key as newest,
// decrypt-only, everywhere; then promote it everywhere; then retire the old
// key once the longest absolute lifetime any sign-in can have has passed
// since the last instance loaded
// the promotion (Manager.SafeToRetireAt, from a keys file's "promoted:"
// line); then remove it. Manager.WatchKeysFile reloads a keys file (see
// ParseKeysFile) when it changes and on SIGHUP; Manager.Stats counts, per
// key and per process, tokens sealed, opened, rewritten from it and
// rejected as retired. The jwesession command (cmd/jwesession) writes each
// step's keys file and inspects cookies.
//
// # Caching
//
// Every response whose handler read or wrote the session gets
// "Cache-Control: private, no-cache" (read) or "no-store, private" (wrote a
// cookie), "Vary: Cookie", and loses CDN-specific cache headers, applied
// when the headers are sent, whatever the handler set. Responses that never
// touch the session are left alone, so public pages stay cacheable.
//
// # Next.js apps
//
// AuthJSManager (NewAuthJS) reads and writes the session cookie of a
// Next.js app that uses Auth.js v5 (next-auth 5, @auth/core) or NextAuth.js
// v4, so a Go service on the same origin shares its sign-in: the claims
// as a typed struct embedding AuthJSClaims, claims the type does not know
// kept across Go-side updates, the app's cookie names and chunking, its
// secrets as the app reads them (AuthJSSecretsFromEnv). Its sessions are
// Session values with the format's rules; no companion or tombstone
// cookie exists there, and a read writes nothing.
//
// # Cookie size
//
// One cookie carries at most ChunkSize bytes of token. Config.MaxChunks
// (default 1) allows splitting a larger session into name.0, name.1, …;
// data that does not fit is an ErrTooLarge from Session.Set,
// Session.Update, Session.SignIn or Session.SignInRemembered, at once, and
// the previous cookie stays as it was; so is a flash over its budget from
// Session.AddFlash. A request's cookie over the limits (a chunk over ChunkSize,
// more chunks than MaxChunks) is refused: Session.Err, Manager.Inspect and
// Manager.InspectCookies return ErrTooLarge for it, and the request is
// served as having no session.
//
// # Metrics and logs
//
// Manager.Metrics counts, per process, rejected cookies by reason
// (RejectReason), session tokens written, sign-outs, sliding refreshes,
// changes and reads refused after the headers were sent, and responses
// sent past the middleware's writer, with the per-key counters of
// Manager.Stats; Manager.MetricsVar publishes them with expvar, and the
// module github.com/jwesession/jwesession/prometheus exports them to
// Prometheus. Counting adds nothing to a request that reads a valid
// session. Config.Logger receives warnings and errors through the
// request's context, and one Debug line per rejected cookie; nothing per
// request at Info, never a secret or a token.
//
// # Revocation
//
// Sessions are stateless unless Config.Revocation names a RevocationStore
// (the redis module's for a fleet, MemoryRevocations for one process):
// then each request whose token opens is checked once against the
// revocations every instance shares, and Clear, Renew, Session.
// ClearEverywhere, Manager.RevokeSubject and Manager.RevokeBefore end
// sessions everywhere (ErrRevoked). A store that cannot answer gets the
// failure policy: fail closed by default (ErrRevocationUnavailable, the
// cookie left alone).
package jwesession
