package redis

import (
	"strconv"
	"testing"

	"github.com/jwesession/jwesession"
	"github.com/jwesession/jwesession/internal/revocationtest"
	"github.com/jwesession/jwesession/redis/internal/redistest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A three-master Redis Cluster started here: the contract, and sign out
// everywhere across three instances, each given one seed node (the
// client finds the others). The revocation keys share a hash tag, so one
// master holds them and the sign-in records spread by subject.
func TestCluster(t *testing.T) {
	nodes := redistest.StartCluster(t)
	addrs := []string{nodes[0].Addr(), nodes[1].Addr(), nodes[2].Addr()}
	t.Run("Contract", func(t *testing.T) {
		revocationtest.Run(t, func(t *testing.T) jwesession.RevocationStore {
			st, err := New(storeConfig(addrs, prefix()))
			require.NoError(t, err)
			t.Cleanup(st.Close)
			waitConnected(t, st)
			return st
		})
	})
	t.Run("SignOutEverywhere", func(t *testing.T) {
		ev := newEvents()
		p := prefix()
		var ins []*instance
		for i, n := range nodes {
			ins = append(ins, newInstance(t, "i"+strconv.Itoa(i), storeConfig([]string{n.Addr()}, p), jwesession.Revocation{}, ev))
		}
		waitCurrent(t, ins...)
		phone, laptop := newBrowser(), newBrowser()
		phone.login(t, ins[0], "alice")
		laptop.login(t, ins[1], "alice")
		for _, in := range ins {
			require.Equal(t, "signed in as alice", phone.home(t, in))
		}
		code, body := laptop.do(t, ins[2], "POST", "/everywhere")
		require.Equal(t, 200, code, body)
		for _, in := range ins {
			ev.wait(t, "applied subject alice @"+in.name)
			assert.Equal(t, "ErrRevoked", phone.home(t, in), in.name)
		}
		holders := 0
		for _, n := range nodes {
			if n.MustCLI("EXISTS", "{"+p+"}:u:alice") == "1" {
				holders++
			}
		}
		assert.Equal(t, 1, holders, "one master holds the revocation keys")
	})
}
