package jwesession

import (
	"context"
	"time"
)

// MemoryRevocations is a RevocationStore in this process's memory: for a
// service of one instance, for tests, and as the local copy a shared
// store (the redis module's) keeps on each instance. Its zero value is
// ready to use; it must not be copied after first use.
//
// A check is a read lock and at most three map lookups. Each record costs
// about 100 bytes (an id's string, its expiry, the map's share) and is
// dropped once its until time has passed, swept at most once a minute
// while records are added. Sign-ins recorded by Seen are kept per subject
// until their End.
type MemoryRevocations struct {
	// Now is the clock records expire by. The default is time.Now.
	Now func() time.Time

	mu        spreadRWMutex    // a check locks its core's slot only (spread.go)
	sessions  map[string]int64 // session id -> until (Unix seconds)
	signIns   map[string]int64 // sign-in id -> until
	subjects  map[string]subjectRevocation
	before    int64                        // tokens issued before it are revoked (0: none)
	beforeEnd int64                        // until when before holds
	seen      map[string]map[string]SignIn // subject -> sign-in id -> record
	nextSweep int64
}

// subjectRevocation is a subject's revocation: sign-ins started at or
// before at are revoked, until until.
type subjectRevocation struct{ at, until int64 }

// Compile-time check.
var _ RevocationStore = (*MemoryRevocations)(nil)

func (m *MemoryRevocations) now() int64 {
	if m.Now == nil {
		return time.Now().Unix()
	}
	return m.Now().Unix()
}

// Revoked implements RevocationStore. It never fails.
func (m *MemoryRevocations) Revoked(_ context.Context, ref SessionRef) (bool, error) {
	mu := m.mu.rlock()
	defer mu.RUnlock()
	if m.before != 0 && ref.IssuedAt.Unix() < m.before {
		return true, nil
	}
	if _, ok := m.signIns[ref.SignInID]; ok && ref.SignInID != "" {
		return true, nil
	}
	if _, ok := m.sessions[ref.SessionID]; ok && ref.SessionID != "" {
		return true, nil
	}
	if r, ok := m.subjects[ref.Subject]; ok && ref.Subject != "" && ref.SignedInAt.Unix() <= r.at {
		return true, nil
	}
	return false, nil
}

// RevokeSession implements RevocationStore.
func (m *MemoryRevocations) RevokeSession(_ context.Context, sessionID string, until time.Time) error {
	m.add(&m.sessions, sessionID, until.Unix())
	return nil
}

// RevokeSignIn implements RevocationStore.
func (m *MemoryRevocations) RevokeSignIn(_ context.Context, signInID string, until time.Time) error {
	m.add(&m.signIns, signInID, until.Unix())
	return nil
}

func (m *MemoryRevocations) add(set *map[string]int64, id string, until int64) {
	m.mu.lock()
	defer m.mu.unlock()
	if *set == nil {
		*set = map[string]int64{}
	}
	(*set)[id] = max((*set)[id], until)
	m.sweep()
}

// RevokeSubject implements RevocationStore.
func (m *MemoryRevocations) RevokeSubject(_ context.Context, subject string, at, until time.Time) error {
	m.mu.lock()
	defer m.mu.unlock()
	if m.subjects == nil {
		m.subjects = map[string]subjectRevocation{}
	}
	r := m.subjects[subject]
	m.subjects[subject] = subjectRevocation{at: max(r.at, at.Unix()), until: max(r.until, until.Unix())}
	m.sweep()
	return nil
}

// RevokeBefore implements RevocationStore.
func (m *MemoryRevocations) RevokeBefore(_ context.Context, t, until time.Time) error {
	m.mu.lock()
	defer m.mu.unlock()
	m.before, m.beforeEnd = max(m.before, t.Unix()), max(m.beforeEnd, until.Unix())
	m.sweep()
	return nil
}

// Seen implements RevocationStore: it keeps the record until s.End.
func (m *MemoryRevocations) Seen(_ context.Context, s SignIn) error {
	m.mu.lock()
	defer m.mu.unlock()
	if m.seen == nil {
		m.seen = map[string]map[string]SignIn{}
	}
	bySin := m.seen[s.Subject]
	if bySin == nil {
		bySin = map[string]SignIn{}
		m.seen[s.Subject] = bySin
	}
	if old, ok := bySin[s.ID]; ok && old.LastSeen.After(s.LastSeen) {
		s.LastSeen = old.LastSeen
	}
	bySin[s.ID] = s
	m.sweep()
	return nil
}

// SignIns implements RevocationStore.
func (m *MemoryRevocations) SignIns(_ context.Context, subject string, now time.Time) ([]SignIn, error) {
	mu := m.mu.rlock()
	defer mu.RUnlock()
	var out []SignIn
	for _, s := range m.seen[subject] {
		if s.End.After(now) {
			out = append(out, s)
		}
	}
	return out, nil
}

// Len returns the number of revocation records held (session ids,
// sign-ins, subjects, and the before-T record), for sizing.
func (m *MemoryRevocations) Len() int {
	mu := m.mu.rlock()
	defer mu.RUnlock()
	n := len(m.sessions) + len(m.signIns) + len(m.subjects)
	if m.before != 0 {
		n++
	}
	return n
}

// sweep drops the records whose time has passed, at most once a minute.
// m.mu must be held for writing.
func (m *MemoryRevocations) sweep() {
	now := m.now()
	if now < m.nextSweep {
		return
	}
	m.nextSweep = now + 60
	for _, set := range []map[string]int64{m.sessions, m.signIns} {
		for id, until := range set {
			if until < now {
				delete(set, id)
			}
		}
	}
	for sub, r := range m.subjects {
		if r.until < now {
			delete(m.subjects, sub)
		}
	}
	if m.beforeEnd < now {
		m.before, m.beforeEnd = 0, 0
	}
	for sub, bySin := range m.seen {
		for id, s := range bySin {
			if s.End.Unix() < now {
				delete(bySin, id)
			}
		}
		if len(bySin) == 0 {
			delete(m.seen, sub)
		}
	}
}
