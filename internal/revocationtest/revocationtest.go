// Package revocationtest checks that a jwesession.RevocationStore keeps
// the contract of each of its methods. The root package runs it against
// MemoryRevocations, the redis module against its store.
package revocationtest

import (
	"context"
	"fmt"
	"sort"
	"testing"
	"time"

	"github.com/jwesession/jwesession"
)

// Run runs the contract tests. newStore returns an empty store; every
// test gets its own. The records are made around the present (the real
// clock), with until times a day ahead, so a store that expires records
// by a server's clock keeps them.
func Run(t *testing.T, newStore func(t *testing.T) jwesession.RevocationStore) {
	ctx := context.Background()
	base := time.Now().Truncate(time.Second)
	until := base.Add(24 * time.Hour)
	ref := func(i int) jwesession.SessionRef {
		return jwesession.SessionRef{
			SessionID: fmt.Sprintf("sid-%d", i), SignInID: fmt.Sprintf("sin-%d", i), Subject: fmt.Sprintf("user-%d", i),
			IssuedAt: base, SignedInAt: base.Add(-time.Hour), AbsoluteEnd: base.Add(7 * time.Hour),
		}
	}
	revoked := func(t *testing.T, s jwesession.RevocationStore, r jwesession.SessionRef) bool {
		t.Helper()
		got, err := s.Revoked(ctx, r)
		if err != nil {
			t.Fatalf("Revoked: %v", err)
		}
		return got
	}
	must := func(t *testing.T, err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}

	t.Run("Empty", func(t *testing.T) {
		s := newStore(t)
		if revoked(t, s, ref(1)) {
			t.Error("an empty store revokes a session")
		}
	})
	t.Run("Session", func(t *testing.T) {
		s := newStore(t)
		must(t, s.RevokeSession(ctx, "sid-1", until))
		if !revoked(t, s, ref(1)) {
			t.Error("a revoked session id is not revoked")
		}
		r := ref(1)
		r.SessionID = "sid-renewed" // the same sign-in under a new id
		if revoked(t, s, r) || revoked(t, s, ref(2)) {
			t.Error("revoking a session id revoked another")
		}
	})
	t.Run("SignIn", func(t *testing.T) {
		s := newStore(t)
		must(t, s.RevokeSignIn(ctx, "sin-1", until))
		r := ref(1)
		r.SessionID = "sid-renewed"
		if !revoked(t, s, ref(1)) || !revoked(t, s, r) {
			t.Error("a revoked sign-in is not revoked under each of its session ids")
		}
		if revoked(t, s, ref(2)) {
			t.Error("revoking a sign-in revoked another")
		}
	})
	t.Run("EmptyIDs", func(t *testing.T) {
		// An Auth.js token has no sign-in id (SignInID ""): a record
		// for an empty id, should one reach the store, must match no
		// token, or it would revoke every one of them.
		s := newStore(t)
		must(t, s.RevokeSignIn(ctx, "", until))
		must(t, s.RevokeSession(ctx, "", until))
		r := ref(1)
		r.SignInID = ""
		if revoked(t, s, r) {
			t.Error("a record for an empty id revoked a session without a sign-in id")
		}
	})
	t.Run("Subject", func(t *testing.T) {
		s := newStore(t)
		at := base.Add(-30 * time.Minute)
		must(t, s.RevokeSubject(ctx, "user-1", at, until))
		before, same, after := ref(1), ref(1), ref(1)
		same.SignedInAt = at
		after.SignedInAt = at.Add(time.Second)
		if !revoked(t, s, before) || !revoked(t, s, same) {
			t.Error("a sign-in that started at or before the subject's revocation is not revoked")
		}
		if revoked(t, s, after) {
			t.Error("a sign-in that started after the subject's revocation is revoked")
		}
		if revoked(t, s, ref(2)) {
			t.Error("revoking a subject revoked another")
		}
		noSubject := ref(1)
		noSubject.Subject = ""
		must(t, s.RevokeSubject(ctx, "", at, until))
		noSubject.SessionID, noSubject.SignInID = "x", "y"
		_ = revoked(t, s, noSubject) // a store may refuse or keep an empty subject; it must not fail
		// The latest time stands: an earlier one does not undo it.
		must(t, s.RevokeSubject(ctx, "user-1", at.Add(-time.Hour), until))
		if !revoked(t, s, same) {
			t.Error("an earlier subject revocation undid a later one")
		}
		must(t, s.RevokeSubject(ctx, "user-1", at.Add(time.Minute), until))
		if !revoked(t, s, after) {
			t.Error("a later subject revocation did not revoke a sign-in before it")
		}
	})
	t.Run("Before", func(t *testing.T) {
		s := newStore(t)
		early, late := ref(1), ref(2)
		early.IssuedAt = base.Add(-time.Second)
		late.IssuedAt = base
		must(t, s.RevokeBefore(ctx, base, until))
		if !revoked(t, s, early) {
			t.Error("a token issued before T is not revoked")
		}
		if revoked(t, s, late) {
			t.Error("a token issued at T is revoked")
		}
		must(t, s.RevokeBefore(ctx, base.Add(-time.Hour), until))
		if !revoked(t, s, early) {
			t.Error("an earlier T undid a later one")
		}
	})
	t.Run("SignIns", func(t *testing.T) {
		s := newStore(t)
		rec := func(id string, seen time.Duration, end time.Time) jwesession.SignIn {
			return jwesession.SignIn{ID: id, Subject: "user-1", SignedInAt: base.Add(-time.Hour), LastSeen: base.Add(seen), End: end}
		}
		must(t, s.Seen(ctx, rec("sin-a", 0, until)))
		must(t, s.Seen(ctx, rec("sin-b", 0, until)))
		must(t, s.Seen(ctx, rec("sin-a", 5*time.Minute, until)))
		must(t, s.Seen(ctx, rec("sin-old", 0, base.Add(-time.Minute))))
		must(t, s.Seen(ctx, jwesession.SignIn{ID: "sin-c", Subject: "user-2", SignedInAt: base, LastSeen: base, End: until}))
		var got []jwesession.SignIn
		deadline := time.Now().Add(5 * time.Second) // Seen may be queued
		for {
			var err error
			got, err = s.SignIns(ctx, "user-1", base)
			must(t, err)
			if len(got) >= 2 && lastSeen(got, "sin-a").Equal(base.Add(5*time.Minute)) || time.Now().After(deadline) {
				break
			}
			time.Sleep(10 * time.Millisecond)
		}
		if len(got) == 0 {
			t.Skip("the store keeps no sign-in records")
		}
		ids := []string{}
		for _, g := range got {
			ids = append(ids, g.ID)
			if g.Subject != "user-1" || !g.SignedInAt.Equal(base.Add(-time.Hour)) || !g.End.Equal(until) {
				t.Errorf("record %+v: subject, start or end changed", g)
			}
		}
		sort.Strings(ids)
		if fmt.Sprint(ids) != "[sin-a sin-b]" {
			t.Errorf("SignIns = %v, want [sin-a sin-b] (an ended one and another subject's left out)", ids)
		}
		if at := lastSeen(got, "sin-a"); !at.Equal(base.Add(5 * time.Minute)) {
			t.Errorf("sin-a last seen %v, want the later record's %v", at, base.Add(5*time.Minute))
		}
		// An older record arriving late does not move last seen back.
		must(t, s.Seen(ctx, rec("sin-a", time.Minute, until)))
		time.Sleep(50 * time.Millisecond)
		got, err := s.SignIns(ctx, "user-1", base)
		must(t, err)
		if at := lastSeen(got, "sin-a"); !at.Equal(base.Add(5 * time.Minute)) {
			t.Errorf("after a late older record, sin-a last seen %v, want %v", at, base.Add(5*time.Minute))
		}
	})
}

// lastSeen returns the last-seen time of sign-in id in list.
func lastSeen(list []jwesession.SignIn, id string) time.Time {
	for _, s := range list {
		if s.ID == id {
			return s.LastSeen
		}
	}
	return time.Time{}
}
