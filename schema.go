package jwesession

import (
	"encoding"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
)

// Schema changes. A session's data is T's JSON, so a deploy that changes
// T's shape (a field's type, say) meets cookies written in the old one.
// Such data does not decode: the session is served as none with
// ErrDataDecode (not ErrMalformed: the token is authentic, only its data
// is from another version of T), counted per key in KeyStats.Undecodable,
// and logged once per key and process at Warn, not per request. The user
// signs in again.
//
// To keep them signed in instead, give *T a MigrateSession method (see
// Migrator): it is called with the old data whenever json.Unmarshal into
// T fails, and fills the value from the old shape, or returns an error
// (ErrDataDecode then: sign in again). A migrated session is read as
// usual; its token is rewritten in the new shape at its next write
// (reads never write it), so until then each read migrates again. A
// field renamed without a type change decodes without error (the new
// field is zero): give the new field a new name and read the old one in
// MigrateSession through a version field of your own, or keep both for a
// while.

// Migrator is implemented (on a pointer receiver) by a session data type
// that can read the JSON of its older versions. MigrateSession is called
// on a zero value with the data as a token holds it, when json.Unmarshal
// of that data into the type has failed; it fills the receiver, or
// returns an error when the data is beyond migration (the user signs in
// again).
type Migrator interface {
	MigrateSession(old []byte) error
}

// decodeData decodes a session's data into dst (zero), as json.Unmarshal
// does (through d, when not nil: see decode.go), and through
// MigrateSession when that fails and *T has one. raw is the data as dst
// encodes: data itself, or its migrated form. On an error dst is zero.
func decodeData[T any](d *dataDecoder, data []byte, dst *T) (raw []byte, err error) {
	err = d.decode(data, dst)
	if err == nil {
		return data, nil
	}
	var zero T
	*dst = zero
	if mg, ok := any(dst).(Migrator); ok {
		if merr := mg.MigrateSession(data); merr == nil {
			if raw, err = json.Marshal(*dst); err == nil {
				return raw, nil
			}
		} else {
			err = merr
		}
		*dst = zero
	}
	return nil, fmt.Errorf("%w: failed to decode session data into %T: %s", ErrDataDecode, zero, decodeWhy(err))
}

// decodeWhy describes a decode error without the data: the field and
// types of a type mismatch, else only that it failed (a syntax error's
// offset or a MigrateSession's message could quote the data).
func decodeWhy(err error) string {
	var ute *json.UnmarshalTypeError
	if errors.As(err, &ute) {
		// Value is the JSON kind, but for a number out of the field's
		// range "number 4111111111111111": the kind alone.
		kind, _, _ := strings.Cut(ute.Value, " ")
		return fmt.Sprintf("field %q holds a JSON %s, not a %v", ute.Field, kind, ute.Type)
	}
	return "the data is not in the type's shape"
}

// undecodable counts a decode failure of a token opened with dk and logs
// it, once per key and process.
func (c *managerCore) undecodable(dk *derivedKey, err error) {
	dk.count.undecodable.inc()
	if dk.count.decodeWarned.CompareAndSwap(false, true) {
		c.cfg.Logger.Warn("jwesession: session data no longer decodes into the data type (a schema change?): those sessions are served as signed out; give the type a MigrateSession method to keep them (logged once per key)",
			"key", dk.id, "error", err.Error())
	}
}

// checkDataType refuses a struct type whose data would silently vanish:
// fields, none of them encoded by encoding/json, and no JSON or text
// methods of its own. Maps, slices, json.RawMessage, and types with
// marshalers are fine; so is an empty struct, which holds nothing.
func checkDataType(t reflect.Type) error {
	if hasCodec(t) {
		return nil
	}
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
		if hasCodec(t) {
			return nil
		}
	}
	if t.Kind() != reflect.Struct || t.NumField() == 0 || encodesAField(t, 0) {
		return nil
	}
	return errf(ErrInvalidConfig, "the session data type %v has no exported fields, so its data would not be saved: export the fields (with json tags), or give it MarshalJSON and UnmarshalJSON", t)
}

// encodesAField reports whether encoding/json writes any field of the
// struct type t: an exported field not tagged "-", or a field of an
// embedded struct (promoted).
func encodesAField(t reflect.Type, depth int) bool {
	for i := range t.NumField() {
		f := t.Field(i)
		if f.Anonymous {
			ft := f.Type
			if ft.Kind() == reflect.Pointer {
				ft = ft.Elem()
			}
			if ft.Kind() == reflect.Struct && depth < 8 && (hasCodec(ft) || encodesAField(ft, depth+1)) {
				return true
			}
			if ft.Kind() == reflect.Struct || !f.IsExported() {
				continue
			}
		}
		if f.IsExported() && f.Tag.Get("json") != "-" {
			return true
		}
	}
	return false
}

// hasCodec reports whether t or *t has a JSON or text method of its own.
func hasCodec(t reflect.Type) bool {
	for _, tt := range []reflect.Type{t, reflect.PointerTo(t)} {
		if tt.Implements(reflect.TypeFor[json.Marshaler]()) || tt.Implements(reflect.TypeFor[json.Unmarshaler]()) ||
			tt.Implements(reflect.TypeFor[encoding.TextMarshaler]()) || tt.Implements(reflect.TypeFor[encoding.TextUnmarshaler]()) {
			return true
		}
	}
	return false
}
