// Package claims holds the session data every comparison benchmark and the
// load test encode, in two shapes: Data, the same value as the library's
// own bench_test.go (five flat fields, about 250 bytes of claims once
// enveloped), and Rich, a profile of eleven fields with two slices and a
// nested struct (about 480 bytes), the shape an OpenID Connect sign-in
// leaves. Every comparison runs on both, since the ratios depend on the
// claims' shape.
package claims

// Claims are the benchmarks' data types. Key returns the field a handler
// checks to see that the session was read.
type Claims interface {
	Data | Rich
	Key() string
}

// Data is the benchmarks' first shape ("basic"): five flat fields.
type Data struct {
	User   string   `json:"user"`
	Email  string   `json:"email"`
	Roles  []string `json:"roles"`
	Tenant string   `json:"tenant"`
	Theme  string   `json:"theme"`
}

// Key returns the user.
func (d Data) Key() string { return d.User }

// Value returns the benchmarks' basic session value.
func Value() Data {
	return Data{
		User:   "alice.example",
		Email:  "alice@example.com",
		Roles:  []string{"admin", "billing", "support"},
		Tenant: "tenant-0042",
		Theme:  "dark",
	}
}

// Rich is the benchmarks' second shape ("rich"): eleven fields with two
// slices, a nested struct, numbers and booleans.
type Rich struct {
	Subject       string   `json:"sub"`
	Name          string   `json:"name"`
	Email         string   `json:"email"`
	EmailVerified bool     `json:"email_verified"`
	Locale        string   `json:"locale"`
	Roles         []string `json:"roles"`
	Org           Org      `json:"org"`
	AuthTime      int64    `json:"auth_time"`
	AMR           []string `json:"amr"`
	MFA           bool     `json:"mfa"`
	CSRF          string   `json:"csrf"`
}

// Org is Rich's nested struct.
type Org struct {
	ID    string `json:"id"`
	Name  string `json:"name"`
	Plan  string `json:"plan"`
	Seats int    `json:"seats"`
}

// Key returns the subject.
func (r Rich) Key() string { return r.Subject }

// RichValue returns the benchmarks' rich session value.
func RichValue() Rich {
	return Rich{
		Subject:       "user_01HZX3K9Q7M2VYB8N4T6R5C1DW",
		Name:          "Alice Example",
		Email:         "alice@example.com",
		EmailVerified: true,
		Locale:        "en-GB",
		Roles:         []string{"admin", "billing", "support"},
		Org:           Org{ID: "org_7f3a9c2e", Name: "Example Holdings Ltd", Plan: "enterprise", Seats: 250},
		AuthTime:      1764590400,
		AMR:           []string{"pwd", "otp"},
		MFA:           true,
		CSRF:          "k2Vd9QxLrT0pZ8mW4nYb7A",
	}
}

// Sample returns the benchmarks' value of type D.
func Sample[D Claims]() D {
	var d D
	switch p := any(&d).(type) {
	case *Data:
		*p = Value()
	case *Rich:
		*p = RichValue()
	}
	return d
}

// Name returns the benchmarks' name of type D: "basic" or "rich".
func Name[D Claims]() string {
	var d D
	if _, ok := any(d).(Rich); ok {
		return "rich"
	}
	return "basic"
}
