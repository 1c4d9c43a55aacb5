package jwesession

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Version 1 of an application's session data, and version 2, in which
// Age became a number and Name a pair of fields.
type scV1 struct {
	Name string `json:"name"`
	Age  string `json:"age"`
}

type scV2 struct {
	First string `json:"first"`
	Last  string `json:"last"`
	Age   int    `json:"age"`
}

// scV2M is scV2 with a migration from version 1.
type scV2M scV2

func (d *scV2M) MigrateSession(old []byte) error {
	var v1 scV1
	if err := json.Unmarshal(old, &v1); err != nil {
		return err
	}
	age, err := strconv.Atoi(v1.Age)
	if err != nil {
		return errors.New("no age") // beyond migration: sign in again
	}
	d.First, d.Age = v1.Name, age
	return nil
}

// scManager returns a manager of data type T on clk, keyed by kr, logging
// to logs.
func scManager[T any](t *testing.T, clk *testClock, kr *Keyring, logs *rlLog) *Manager[T] {
	t.Helper()
	m, err := New[T](Config{Now: clk.Now, Logger: logs.logger()}, kr)
	require.NoError(t, err)
	return m
}

// scServe runs fn for one request carrying cookie through m.
func scServe[T any](m *Manager[T], cookie string, fn func(s *Session[T])) *httptest.ResponseRecorder {
	rec := httptest.NewRecorder()
	m.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s, _ := m.Session(r.Context())
		fn(s)
	})).ServeHTTP(rec, newRequest(cookie))
	return rec
}

// scSignIn signs in v with m and returns the Cookie header.
func scSignIn[T any](t *testing.T, m *Manager[T], v T) string {
	t.Helper()
	rec := scServe(m, "", func(s *Session[T]) { require.NoError(t, s.SignIn(v)) })
	return cookieHeader("", rec)
}

// A deploy that changes the data type: the old cookies are authentic, so
// they are not ErrMalformed but ErrDataDecode, counted per key, logged
// once per key, and nothing is written.
func TestDataDecodeFailure(t *testing.T) {
	clk := newTestClock()
	var logs rlLog
	kr := mustKeyring(t, "b:primary:"+secretB, "a:decrypt-only:"+secretA)
	old := scManager[scV1](t, clk, mustKeyring(t, "a:primary:"+secretA), &logs)
	underA := scSignIn(t, old, scV1{Name: "alice-secret-name", Age: "42"})
	oldB := scManager[scV1](t, clk, kr, &logs)
	underB := scSignIn(t, oldB, scV1{Name: "bob", Age: "7"})

	m := scManager[scV2](t, clk, kr, &logs)
	for i := range 3 {
		for _, c := range []string{underA, underB} {
			rec := scServe(m, c, func(s *Session[scV2]) {
				d, ok := s.Get()
				assert.False(t, ok)
				assert.Zero(t, d, "no half-decoded data")
				assert.False(t, s.SignedIn())
				err := s.Err()
				require.ErrorIs(t, err, ErrDataDecode, "read %d", i)
				assert.NotErrorIs(t, err, ErrMalformed, "not a damaged token")
				assert.Contains(t, err.Error(), `field "age" holds a JSON string, not a int`)
			})
			assert.Empty(t, setCookies(rec), "a read writes nothing")
		}
	}
	stats := map[string]uint64{}
	for _, k := range m.Stats() {
		stats[k.ID] = k.Undecodable
	}
	assert.Equal(t, map[string]uint64{"a": 3, "b": 3}, stats, "counted per key and request")
	recs := logs.records(t, "no longer decodes")
	require.Len(t, recs, 2, "logged once per key, not per request")
	assert.ElementsMatch(t, []any{"a", "b"}, []any{recs[0]["key"], recs[1]["key"]})
	assert.Equal(t, "WARN", recs[0]["level"])
	assert.NotContains(t, logs.String(), "alice-secret-name", "the log holds no data")

	// Inspect agrees.
	tok := rotToken(t, &Manager[testData]{core: m.core}, underA)
	_, err := m.Inspect(tok)
	assert.ErrorIs(t, err, ErrDataDecode)
	// A new sign-in replaces it as usual.
	rec := scServe(m, underA, func(s *Session[scV2]) { require.NoError(t, s.SignIn(scV2{First: "alice", Age: 42})) })
	res := scServe(m, cookieHeader(underA, rec), func(s *Session[scV2]) {
		d, ok := s.Get()
		assert.True(t, ok)
		assert.Equal(t, 42, d.Age)
	})
	assert.Empty(t, setCookies(res))
}

// MigrateSession keeps them signed in: the old data is read into the new
// type on every read (which writes nothing) until the next write stores
// the new shape; data beyond migration is ErrDataDecode.
func TestDataMigration(t *testing.T) {
	clk := newTestClock()
	var logs rlLog
	kr := mustKeyring(t, "a:primary:"+secretA)
	old := scManager[scV1](t, clk, kr, &logs)
	cookie := scSignIn(t, old, scV1{Name: "alice", Age: "42"})
	bad := scSignIn(t, old, scV1{Name: "bob", Age: "old"})

	m := scManager[scV2M](t, clk, kr, &logs)
	clk.Advance(time.Minute)
	rec := scServe(m, cookie, func(s *Session[scV2M]) {
		d, ok := s.Get()
		require.True(t, ok)
		require.NoError(t, s.Err())
		assert.Equal(t, scV2M{First: "alice", Age: 42}, d)
	})
	assert.Empty(t, setCookies(rec), "a read never writes the token, migrated or not")
	// Setting the migrated value is no change; a real change writes the
	// new shape.
	rec = scServe(m, cookie, func(s *Session[scV2M]) {
		d, _ := s.Get()
		require.NoError(t, s.Set(d))
	})
	assert.Empty(t, setCookies(rec), "the migrated value is what the session holds")
	rec = scServe(m, cookie, func(s *Session[scV2M]) {
		require.NoError(t, s.Update(func(d *scV2M) error { d.Last = "smith"; return nil }))
	})
	cookie = cookieHeader(cookie, rec)
	env := rotClaims(t, &Manager[testData]{core: m.core}, rotToken(t, &Manager[testData]{core: m.core}, cookie))
	assert.JSONEq(t, `{"first":"alice","last":"smith","age":42}`, string(env.Data), "the next write stores the new shape")

	rec = scServe(m, bad, func(s *Session[scV2M]) {
		_, ok := s.Get()
		assert.False(t, ok)
		assert.ErrorIs(t, s.Err(), ErrDataDecode, "beyond migration")
		assert.NotContains(t, s.Err().Error(), "no age", "MigrateSession's message could quote the data")
	})
	assert.Empty(t, setCookies(rec))
	assert.Equal(t, uint64(1), m.Stats()[0].Undecodable)
}

// The unexported fields are the point: nothing of them is encoded.
//
//lint:file-ignore U1000 unexported fields that exist to be refused
type (
	scNoExported struct{ a, b int }
	scTaggedOut  struct {
		A int `json:"-"`
		b int
	}
	scInner      struct{ X int }
	scEmbedded   struct{ scInner }
	scEmbedPtr   struct{ *scInner }
	scCustom     struct{ a int }
	scCustomPtr  struct{ a int }
	scTextOnly   struct{ a int }
	scEmbedUnexp struct {
		scNoExported
		c int
	}
)

func (scCustom) MarshalJSON() ([]byte, error)    { return []byte(`1`), nil }
func (*scCustomPtr) UnmarshalJSON([]byte) error  { return nil }
func (scTextOnly) MarshalText() ([]byte, error)  { return []byte("x"), nil }
func (*scTextOnly) UnmarshalText(b []byte) error { return nil }

// A struct whose data would silently vanish is refused at New; types
// that encode something, or encode themselves, are not.
func TestDataTypeChecked(t *testing.T) {
	kr := mustKeyring(t, "a:primary:"+secretA)
	refused := map[string]error{}
	try := func(name string, err error) { refused[name] = err }
	try("unexported fields", errOf(New[scNoExported](Config{}, kr)))
	try("pointer to it", errOf(New[*scNoExported](Config{}, kr)))
	try("every field unexported or tagged out", errOf(New[scTaggedOut](Config{}, kr)))
	try("embedded struct without exported fields", errOf(New[scEmbedUnexp](Config{}, kr)))
	for name, err := range refused {
		require.ErrorIs(t, err, ErrInvalidConfig, name)
		assert.Contains(t, err.Error(), "has no exported fields, so its data would not be saved", name)
	}
	for name, err := range map[string]error{
		"testData":              errOf(New[testData](Config{}, kr)),
		"empty struct":          errOf(New[struct{}](Config{}, kr)),
		"map":                   errOf(New[map[string]any](Config{}, kr)),
		"json.RawMessage":       errOf(New[json.RawMessage](Config{}, kr)),
		"string":                errOf(New[string](Config{}, kr)),
		"embedded exported":     errOf(New[scEmbedded](Config{}, kr)),
		"embedded pointer":      errOf(New[scEmbedPtr](Config{}, kr)),
		"MarshalJSON":           errOf(New[scCustom](Config{}, kr)),
		"pointer UnmarshalJSON": errOf(New[scCustomPtr](Config{}, kr)),
		"text methods":          errOf(New[scTextOnly](Config{}, kr)),
		"time.Time":             errOf(New[time.Time](Config{}, kr)),
		"pointer to testData":   errOf(New[*testData](Config{}, kr)),
		"migrating":             errOf(New[scV2M](Config{}, kr)),
	} {
		assert.NoError(t, err, name)
	}
}

func errOf[T any](_ *Manager[T], err error) error { return err }
