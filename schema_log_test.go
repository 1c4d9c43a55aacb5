package jwesession

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// scNarrow is a data type whose number field a deploy narrowed: a number
// the old type held no longer fits.
type scNarrow struct {
	Name string `json:"name"`
	Card uint8  `json:"card"`
}

// A number that no longer fits its field's type reaches no error and no
// log line: encoding/json's UnmarshalTypeError quotes it ("number
// 4111111111111111"), and the session's data is the user's.
func TestDataDecodeErrorHoldsNoNumber(t *testing.T) {
	clk := newTestClock()
	var logs rlLog
	kr := mustKeyring(t, "a:primary:"+secretA)
	type wide struct {
		Name string `json:"name"`
		Card int64  `json:"card"`
	}
	cookie := scSignIn(t, scManager[wide](t, clk, kr, &logs), wide{Name: "alice", Card: 4111111111111111})
	m := scManager[scNarrow](t, clk, kr, &logs)
	scServe(m, cookie, func(s *Session[scNarrow]) {
		err := s.Err()
		require.ErrorIs(t, err, ErrDataDecode)
		assert.Contains(t, err.Error(), `field "card" holds a JSON number, not a uint8`)
		assert.NotContains(t, err.Error(), "4111111111111111")
	})
	require.NotEmpty(t, logs.records(t, "no longer decodes"))
	assert.NotContains(t, logs.String(), "4111111111111111", "the log holds no data")
}
