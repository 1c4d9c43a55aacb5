// Package claims holds the session data every comparison benchmark and the
// load test encode: the same value as the library's own bench_test.go,
// about 250 bytes of claims once enveloped.
package claims

// Data is the benchmarks' session data.
type Data struct {
	User   string   `json:"user"`
	Email  string   `json:"email"`
	Roles  []string `json:"roles"`
	Tenant string   `json:"tenant"`
	Theme  string   `json:"theme"`
}

// Value returns the benchmarks' session value.
func Value() Data {
	return Data{
		User:   "alice.example",
		Email:  "alice@example.com",
		Roles:  []string{"admin", "billing", "support"},
		Tenant: "tenant-0042",
		Theme:  "dark",
	}
}
