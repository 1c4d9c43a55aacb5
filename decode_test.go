package jwesession

import (
	"encoding/json"
	"math"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The canonical data decoder (decode.go) against encoding/json.

type decodeRole string

type decodeSub struct {
	Name  string   `json:"name"`
	Tags  []string `json:"tags,omitempty"`
	Level uint8    `json:"level"`
}

// decodeAll has a field of every kind the canonical decoder plans, and
// fields encoding/json skips.
type decodeAll struct {
	S      string       `json:"s"`
	B      bool         `json:"b,omitempty"`
	I      int          `json:"i"`
	I8     int8         `json:"i8"`
	I16    int16        `json:"i16"`
	I32    int32        `json:"i32"`
	I64    int64        `json:"i64"`
	U      uint         `json:"u"`
	U8     uint8        `json:"u8"`
	U16    uint16       `json:"u16"`
	U32    uint32       `json:"u32"`
	U64    uint64       `json:"u64"`
	Role   decodeRole   `json:"role"`
	Roles  []decodeRole `json:"roles"`
	Matrix [][]int      `json:"matrix"`
	Sub    decodeSub    `json:"sub"`
	Subs   []decodeSub  `json:"subs"`
	//lint:ignore SA5008 the name "-", spelled as encoding/json documents it: the plan must match it
	Dash   string `json:"-,"`
	Skip   string `json:"-"`
	NoTag  string
	Dotted string `json:"a.b-c_d"`
	//lint:ignore U1000 encoding/json skips it, and so must the plan
	hidden string
}

var decodeAllValue = decodeAll{
	S: "héllo wörld ✓", B: true, I: -42, I8: math.MinInt8, I16: math.MaxInt16, I32: math.MinInt32, I64: math.MinInt64,
	U: 7, U8: math.MaxUint8, U16: math.MaxUint16, U32: math.MaxUint32, U64: math.MaxUint64,
	Role: "admin", Roles: []decodeRole{"a", "b"}, Matrix: [][]int{{1, 2}, {}, {-3}}, Sub: decodeSub{Name: "x", Tags: []string{"t"}, Level: 3},
	Subs: []decodeSub{{Name: "y"}, {Name: "z", Tags: []string{"u", "v"}}}, Dash: "dash", NoTag: "no tag", Dotted: "dotted",
}

// decodeRich is a second shape, as bench/'s rich claims.
type decodeRich struct {
	Subject       string   `json:"sub"`
	Name          string   `json:"name"`
	Email         string   `json:"email"`
	EmailVerified bool     `json:"email_verified"`
	Locale        string   `json:"locale"`
	Roles         []string `json:"roles"`
	Org           struct {
		ID    string `json:"id"`
		Name  string `json:"name"`
		Plan  string `json:"plan"`
		Seats int    `json:"seats"`
	} `json:"org"`
	AuthTime int64    `json:"auth_time"`
	AMR      []string `json:"amr"`
	MFA      bool     `json:"mfa"`
}

func TestDataDecoderPlans(t *testing.T) {
	type (
		withMap       struct{ M map[string]string }
		withPtr       struct{ P *string }
		withFloat     struct{ F float64 }
		withAny       struct{ A any }
		withBytes     struct{ B []byte }
		withArray     struct{ A [2]int }
		withTime      struct{ T time.Time }
		withRaw       struct{ R json.RawMessage }
		withNumber    struct{ N json.Number }
		withStringOpt struct {
			N int `json:"n,string"`
		}
		withEmbedded struct{ decodeSub }
		withFold     struct {
			A string `json:"id"`
			B string `json:"ID"`
		}
		withOddName struct {
			A string `json:"a b"`
		}
		withUnicodeName struct{ Ä string }
		recursive       struct{ Kids []recursive }
		withText        struct{ R textRole }
	)
	for _, c := range []struct {
		t    reflect.Type
		want bool
	}{
		{reflect.TypeFor[benchData](), true},
		{reflect.TypeFor[decodeRich](), true},
		{reflect.TypeFor[decodeAll](), true},
		{reflect.TypeFor[struct{}](), true},
		{reflect.TypeFor[string](), false}, // not a struct: encoding/json
		{reflect.TypeFor[[]string](), false},
		{reflect.TypeFor[*benchData](), false},
		{reflect.TypeFor[withMap](), false},
		{reflect.TypeFor[withPtr](), false},
		{reflect.TypeFor[withFloat](), false},
		{reflect.TypeFor[withAny](), false},
		{reflect.TypeFor[withBytes](), false},
		{reflect.TypeFor[withArray](), false},
		{reflect.TypeFor[withTime](), false},
		{reflect.TypeFor[withRaw](), false},
		{reflect.TypeFor[withNumber](), false},
		{reflect.TypeFor[withStringOpt](), false},
		{reflect.TypeFor[withEmbedded](), false},
		{reflect.TypeFor[withFold](), false},
		{reflect.TypeFor[withOddName](), false},
		{reflect.TypeFor[withUnicodeName](), false},
		{reflect.TypeFor[recursive](), false},
		{reflect.TypeFor[withText](), false},
	} {
		assert.Equal(t, c.want, newDataDecoder(c.t).plan != nil, "%v", c.t)
	}
}

// textRole decodes itself from text: encoding/json calls it.
type textRole string

func (r *textRole) UnmarshalText(b []byte) error {
	*r = textRole(strings.ToUpper(string(b)))
	return nil
}

// What json.Marshal writes, the plan reads itself (no fallback), to what
// json.Unmarshal gives.
func TestDataDecoderReadsWhatMarshalWrites(t *testing.T) {
	var rich decodeRich
	rich.Subject, rich.Roles, rich.Org.Seats, rich.AMR = "u1", []string{"a"}, 250, []string{}
	for _, v := range []any{benchValue, benchData{}, rich, decodeRich{}, decodeAllValue, decodeAll{}, decodeAll{Matrix: [][]int{}, Subs: []decodeSub{{}}}} {
		data, err := json.Marshal(v)
		require.NoError(t, err)
		d := newDataDecoder(reflect.TypeOf(v))
		require.NotNil(t, d.plan, "%T", v)
		got := reflect.New(reflect.TypeOf(v))
		rest, ok := d.plan.decode(string(data), got.Elem())
		require.True(t, ok, "%s", data)
		require.Empty(t, rest)
		want := reflect.New(reflect.TypeOf(v))
		require.NoError(t, json.Unmarshal(data, want.Interface()))
		require.Equal(t, want.Interface(), got.Interface(), "%s", data)
	}
}

// Input outside the canonical form is left to encoding/json: decode gives
// its result (value and error), and the plan itself refuses it.
func TestDataDecoderLeavesTheRestToEncodingJSON(t *testing.T) {
	for _, data := range []string{
		``, ` {}`, `{} `, `{"user":"a"} `, `{"user" :"a"}`, `{"User":"a"}`, `{"user":"a","user":"b"}`,
		`{"email":"e","user":"u"}`, `{"user":"a\u0062"}`, `{"user":"a\"b"}`, `{"user":"\xff"}`, "{\"user\":\"a\x01\"}",
		`{"user":1}`, `{"roles":"admin"}`, `{"roles":["a",1]}`, `{"roles":["a" ,"b"]}`, `{"roles":[,]}`, `{"roles":["a",]}`,
		`{"unknown":1}`, `{"user":"a",}`, `{"user":"a"`, `[]`, `"x"`, `{"roles":["a"]]}`, `{"roles":[["a"]]}`,
		`{"roles":nul}`, `{"user":null,"roles":null}`, `null`,
	} {
		d := newDataDecoder(reflect.TypeFor[benchData]())
		var got, want benchData
		err := d.decode([]byte(data), &got)
		wantErr := json.Unmarshal([]byte(data), &want)
		assert.Equal(t, wantErr, err, "%q", data)
		assert.Equal(t, want, got, "%q", data)
	}
	d := newDataDecoder(reflect.TypeFor[decodeAll]())
	for _, data := range []string{
		`{"i":01}`, `{"i":-}`, `{"i":1.0}`, `{"i":1e2}`, `{"i":-0}`, `{"i8":128}`, `{"i8":-129}`, `{"i8":-128}`, `{"i64":9223372036854775808}`,
		`{"i64":-9223372036854775808}`, `{"i64":-9223372036854775809}`, `{"u":-1}`, `{"u8":256}`, `{"u64":18446744073709551615}`,
		`{"u64":18446744073709551616}`, `{"u64":184467440737095516150}`, `{"b":true}`, `{"b":tru}`, `{"b":True}`, `{"b":"true"}`,
		`{"matrix":[[1],[]]}`, `{"matrix":[[1],null]}`, `{"matrix":[]}`, `{"subs":[{}]}`, `{"subs":[{"tags":["x"]}]}`, `{"sub":null}`,
		`{"-":"d"}`, `{"Skip":"s"}`, `{"hidden":"h"}`, `{"NoTag":"n"}`, `{"a.b-c_d":"x"}`, `{"s":"✓"}`, `{"role":"r","roles":["q"]}`,
	} {
		var got, want decodeAll
		err := d.decode([]byte(data), &got)
		wantErr := json.Unmarshal([]byte(data), &want)
		assert.Equal(t, wantErr, err, "%q", data)
		assert.Equal(t, want, got, "%q", data)
	}
}

// FuzzDataDecode: the canonical decoder next to json.Unmarshal, on every
// input, for three data types: the same value and the same error (the
// plan either reads exactly what encoding/json reads, or stops and hands
// it over).
func FuzzDataDecode(f *testing.F) {
	var rich decodeRich
	rich.Subject, rich.Roles, rich.Org.Name, rich.AMR = "u1", []string{"a", "b"}, "org", []string{}
	for _, v := range []any{benchValue, rich, decodeAllValue, decodeAll{}} {
		b, err := json.Marshal(v)
		require.NoError(f, err)
		f.Add(b)
		f.Add(b[:len(b)/2])
	}
	f.Add([]byte(`{"i64":-9223372036854775808,"u64":18446744073709551615,"matrix":[[],[1,-2]],"subs":[{"name":"a","tags":null}]}`))
	decoders := []struct {
		d   *dataDecoder
		new func() any
	}{
		{newDataDecoder(reflect.TypeFor[benchData]()), func() any { return new(benchData) }},
		{newDataDecoder(reflect.TypeFor[decodeRich]()), func() any { return new(decodeRich) }},
		{newDataDecoder(reflect.TypeFor[decodeAll]()), func() any { return new(decodeAll) }},
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, c := range decoders {
			got, want := c.new(), c.new()
			err := c.d.decode(data, got)
			wantErr := json.Unmarshal(data, want)
			if !reflect.DeepEqual(err, wantErr) || !reflect.DeepEqual(got, want) {
				t.Fatalf("%T on %q: decode gives %+v (%v), json.Unmarshal %+v (%v)", got, data, got, err, want, wantErr)
			}
		}
	})
}
