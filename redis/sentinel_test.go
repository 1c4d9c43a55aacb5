package redis

import (
	"testing"

	"github.com/jwesession/jwesession"
	"github.com/jwesession/jwesession/redis/internal/redistest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Through a Sentinel: the store finds the master by name (MasterSet) and
// sign out everywhere works across two instances. (Failover itself is
// Sentinel's and the client's; it is not exercised here.)
func TestSentinel(t *testing.T) {
	master := redistest.StartServer(t)
	sentinel := redistest.StartSentinel(t, master)
	ev := newEvents()
	p := prefix()
	var ins []*instance
	for _, name := range []string{"i0", "i1"} {
		cfg := storeConfig([]string{sentinel.Addr()}, p)
		cfg.MasterSet = "main"
		ins = append(ins, newInstance(t, name, cfg, jwesession.Revocation{}, ev))
	}
	waitCurrent(t, ins...)
	phone, laptop := newBrowser(), newBrowser()
	phone.login(t, ins[0], "alice")
	laptop.login(t, ins[1], "alice")
	code, body := laptop.do(t, ins[1], "POST", "/everywhere")
	require.Equal(t, 200, code, body)
	ev.wait(t, "applied subject alice @i0")
	assert.Equal(t, "ErrRevoked", phone.home(t, ins[0]))
	assert.Equal(t, "1", master.MustCLI("EXISTS", "{"+p+"}:u:alice"), "written to the master Sentinel named")
}
