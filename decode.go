package jwesession

import (
	"encoding"
	"encoding/json"
	"reflect"
	"strings"
	"unicode/utf8"
)

// The session data's decode, on the hot path. The data in a token is what
// json.Marshal wrote for T: compact, the fields in their order, under
// their exact names, no whitespace. encoding/json reads any JSON (a first
// pass validates it all, a second decodes it through a scanner state
// machine, keys are matched case-insensitively), which is most of a
// request's cost. For a data type made only of what encoding/json decodes
// without methods (strings, bools, integers, slices of them and nested
// structs of them: see planOf), the manager builds a plan once, and a
// decoder that reads that canonical form straight into T. It accepts only
// input on which it gives exactly what json.Unmarshal gives (a subset of
// JSON: no escapes, no whitespace, keys in field order with their exact
// names, integers in range), and at the first byte outside it stops: the
// value is reset to zero and json.Unmarshal decodes the data as before. So
// the result is always json.Unmarshal's (FuzzDataDecode holds the two
// together); the plan only decides how fast. The strings decoded share
// one copy of the data (they keep all of it, a few hundred bytes, alive
// while any of them is). A slice is allocated once
// for the length decoded, where encoding/json grows it by appending (the
// capacity may differ).

// dataDecoder decodes one data type's JSON.
type dataDecoder struct {
	plan *valuePlan // the canonical decoder's plan for T; nil when T is not eligible
}

// newDataDecoder returns the decoder for the data type t.
func newDataDecoder(t reflect.Type) *dataDecoder {
	p, ok := planOf(t, map[reflect.Type]bool{})
	if !ok || p.kind != planStruct {
		p = nil
	}
	return &dataDecoder{plan: p}
}

// decode decodes data into dst, a pointer to a zero value of the type d
// was built for, exactly as json.Unmarshal(data, dst).
func (d *dataDecoder) decode(data []byte, dst any) error {
	if d != nil && d.plan != nil {
		// One copy of the data as a string, read in place: every string
		// decoded is a piece of it, so the strings cost one allocation
		// together, not one each.
		v := reflect.ValueOf(dst).Elem()
		if rest, ok := d.plan.decode(string(data), v); ok && len(rest) == 0 {
			return nil
		}
		v.SetZero() // what the plan wrote before it stopped
	}
	return json.Unmarshal(data, dst)
}

// planKind is what a planned value is.
type planKind uint8

const (
	planString planKind = iota + 1
	planBool
	planInt
	planUint
	planSlice
	planStruct
)

// valuePlan decodes one type.
type valuePlan struct {
	kind   planKind
	bits   int          // planInt, planUint: the integer's size
	typ    reflect.Type // planSlice: the slice type
	elem   *valuePlan   // planSlice: its elements
	fields []fieldPlan  // planStruct: the fields encoding/json decodes, in order
}

// fieldPlan is one struct field encoding/json decodes.
type fieldPlan struct {
	name  string // its JSON name, which the canonical form spells exactly
	index int    // its index in the struct
	plan  *valuePlan
}

// planOf returns the plan of type t, or false when t is not eligible: t
// or *t has an UnmarshalJSON or UnmarshalText method (encoding/json calls
// it), or t is (or holds) what the canonical decoder leaves to
// encoding/json: floats, maps, pointers, interfaces, arrays, []byte
// (base64), json.Number, embedded fields, the ",string" option, field
// names beyond A-Z a-z 0-9 _ - . or equal but for case, recursive types.
func planOf(t reflect.Type, open map[reflect.Type]bool) (*valuePlan, bool) {
	for _, u := range [...]reflect.Type{reflect.TypeFor[json.Unmarshaler](), reflect.TypeFor[encoding.TextUnmarshaler]()} {
		if t.Implements(u) || reflect.PointerTo(t).Implements(u) {
			return nil, false
		}
	}
	switch t.Kind() {
	case reflect.String:
		if t == reflect.TypeFor[json.Number]() {
			return nil, false
		}
		return &valuePlan{kind: planString}, true
	case reflect.Bool:
		return &valuePlan{kind: planBool}, true
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return &valuePlan{kind: planInt, bits: t.Bits()}, true
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return &valuePlan{kind: planUint, bits: t.Bits()}, true
	case reflect.Slice:
		if t.Elem().Kind() == reflect.Uint8 {
			return nil, false
		}
		elem, ok := planOf(t.Elem(), open)
		return &valuePlan{kind: planSlice, typ: t, elem: elem}, ok
	case reflect.Struct:
		if open[t] {
			return nil, false
		}
		open[t] = true
		defer delete(open, t)
		p := &valuePlan{kind: planStruct}
		for i := range t.NumField() {
			f := t.Field(i)
			if f.Anonymous {
				return nil, false
			}
			tag := f.Tag.Get("json")
			if !f.IsExported() || tag == "-" {
				continue // encoding/json neither writes nor reads it
			}
			name, opts, _ := strings.Cut(tag, ",")
			if name == "" {
				name = f.Name
			}
			if !plainName(name) || hasOption(opts, "string") {
				return nil, false
			}
			for _, g := range p.fields {
				if strings.EqualFold(g.name, name) {
					return nil, false
				}
			}
			fp, ok := planOf(f.Type, open)
			if !ok {
				return nil, false
			}
			p.fields = append(p.fields, fieldPlan{name: name, index: i, plan: fp})
		}
		return p, true
	}
	return nil, false
}

// hasOption reports whether the comma-separated tag options list opt.
func hasOption(opts, opt string) bool {
	for opts != "" {
		var o string
		o, opts, _ = strings.Cut(opts, ",")
		if o == opt {
			return true
		}
	}
	return false
}

// plainName reports whether a JSON field name is 1 or more of A-Z a-z 0-9
// _ - . : encoding/json takes such a tag name as it is and writes it
// without escapes.
func plainName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_' || c == '-' || c == '.') {
			return false
		}
	}
	return true
}

// decode reads one value of p's type from the start of b into v and
// returns what follows it; false: b does not start with such a value in
// the canonical form.
func (p *valuePlan) decode(b string, v reflect.Value) (string, bool) {
	if len(b) == 0 {
		return b, false
	}
	if b[0] == 'n' {
		// null: encoding/json sets a slice to nil and leaves a string,
		// bool, number or struct as it is.
		rest, ok := strings.CutPrefix(b, "null")
		if ok && p.kind == planSlice {
			v.SetZero()
		}
		return rest, ok
	}
	switch p.kind {
	case planString:
		s, rest, ok := canonicalString(b)
		if ok {
			v.SetString(s)
		}
		return rest, ok
	case planBool:
		if rest, ok := strings.CutPrefix(b, "true"); ok {
			v.SetBool(true)
			return rest, true
		}
		return strings.CutPrefix(b, "false")
	case planInt:
		neg, n, rest, ok := canonicalInt(b)
		limit := uint64(1)<<(p.bits-1) - 1
		if neg {
			limit++
		}
		if !ok || n > limit {
			return b, false
		}
		if neg {
			v.SetInt(int64(-n)) // -2^63 wraps to itself
		} else {
			v.SetInt(int64(n))
		}
		return rest, true
	case planUint:
		neg, n, rest, ok := canonicalInt(b)
		if !ok || neg || (p.bits < 64 && n >= 1<<p.bits) {
			return b, false
		}
		v.SetUint(n)
		return rest, true
	case planSlice:
		return p.decodeArray(b, v)
	case planStruct:
		return p.decodeObject(b, v)
	}
	return b, false
}

// decodeObject reads a JSON object whose keys name p's fields exactly, in
// field order (any may be missing: it stays as it is), into the struct v.
func (p *valuePlan) decodeObject(b string, v reflect.Value) (string, bool) {
	if len(b) < 2 || b[0] != '{' {
		return b, false
	}
	if b[1] == '}' {
		return b[2:], true
	}
	b = b[1:]
	next := 0 // the first field a key may name
	for {
		if len(b) == 0 || b[0] != '"' {
			return b, false
		}
		end := strings.IndexByte(b[1:], '"') + 1
		if end == 0 {
			return b, false
		}
		key := b[1:end]
		i := next
		for i < len(p.fields) && p.fields[i].name != key {
			i++
		}
		if i == len(p.fields) || end+1 >= len(b) || b[end+1] != ':' {
			return b, false // an unknown name, another spelling, a repeat or a key out of order
		}
		f := &p.fields[i]
		next = i + 1
		rest, ok := f.plan.decode(b[end+2:], v.Field(f.index))
		if !ok || len(rest) == 0 {
			return b, false
		}
		switch rest[0] {
		case ',':
			b = rest[1:]
		case '}':
			return rest[1:], true
		default:
			return b, false
		}
	}
}

// decodeArray reads a JSON array into the slice v, which is nil: grown
// once to its length (an empty one non-nil, as encoding/json makes it).
func (p *valuePlan) decodeArray(b string, v reflect.Value) (string, bool) {
	n, ok := countElements(b)
	if !ok {
		return b, false
	}
	if n == 0 {
		v.Set(reflect.MakeSlice(p.typ, 0, 0))
		return b[2:], true
	}
	v.Grow(n) // the array only: MakeSlice would allocate a slice header too
	v.SetLen(n)
	b = b[1:]
	for i := range n {
		sep := byte(',')
		if i == n-1 {
			sep = ']'
		}
		rest, ok := p.elem.decode(b, v.Index(i))
		if !ok || len(rest) == 0 || rest[0] != sep {
			return b, false
		}
		b = rest[1:]
	}
	return b, true
}

// countElements counts the elements of the array at the start of b by its
// top-level commas, or reports false when it is not an array of the
// canonical form's strings (no escapes) and brackets. The decode that
// follows checks the elements themselves.
func countElements(b string) (int, bool) {
	if len(b) < 2 || b[0] != '[' {
		return 0, false
	}
	if b[1] == ']' {
		return 0, true
	}
	n, depth := 1, 0
	for i := 1; i < len(b); i++ {
		switch b[i] {
		case '"':
			j := strings.IndexByte(b[i+1:], '"')
			if j < 0 || strings.IndexByte(b[i+1:i+1+j], '\\') >= 0 {
				return 0, false
			}
			i += j + 1
		case '[', '{':
			depth++
		case ']', '}':
			if depth == 0 {
				return n, b[i] == ']'
			}
			depth--
		case ',':
			if depth == 0 {
				n++
			}
		}
	}
	return 0, false
}

// canonicalString reads a JSON string without escapes or control
// characters, in valid UTF-8 (what encoding/json takes byte for byte).
func canonicalString(b string) (string, string, bool) {
	if b[0] != '"' {
		return "", b, false
	}
	ascii := true
	for i := 1; i < len(b); i++ {
		switch c := b[i]; {
		case c == '"':
			s := b[1:i]
			if !ascii && !utf8.ValidString(s) {
				return "", b, false // encoding/json replaces invalid bytes with U+FFFD
			}
			return s, b[i+1:], true
		case c < 0x20 || c == '\\':
			return "", b, false
		case c >= 0x80:
			ascii = false
		}
	}
	return "", b, false
}

// canonicalInt reads a JSON integer (an optional minus, then 0 or digits
// without a leading zero, no fraction or exponent) whose magnitude fits in
// 64 bits.
func canonicalInt(b string) (neg bool, n uint64, rest string, ok bool) {
	i := 0
	if b[0] == '-' {
		neg, i = true, 1
	}
	start := i
	for ; i < len(b) && '0' <= b[i] && b[i] <= '9'; i++ {
		d := uint64(b[i] - '0')
		if n > (1<<64-1-d)/10 {
			return false, 0, b, false
		}
		n = n*10 + d
	}
	switch {
	case i == start, b[start] == '0' && i > start+1:
		return false, 0, b, false // no digit, or a leading zero
	case i < len(b) && (b[i] == '.' || b[i] == 'e' || b[i] == 'E'):
		return false, 0, b, false // not an integer: encoding/json refuses it for an integer field
	}
	return neg, n, b[i:], true
}
