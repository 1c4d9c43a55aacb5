package main

import (
	"bytes"
	"math"
	"strings"
	"testing"
)

// input: three runs of the empty request (median of 4000, 6000, 4400 is
// 4400), two of the hot path (median of 9000 and 9800 is 9400), one of the
// rest, Auth.js once from node and once from Go, and the noise a real run
// prints.
const input = `goos: linux
goarch: amd64
pkg: github.com/jwesession/jwesession/bench
cpu: Test CPU @ 1GHz
BenchmarkEmptyRequest
BenchmarkEmptyRequest-2        	    1000	      4000 ns/op	    5000 B/op	      12 allocs/op
BenchmarkEmptyRequest-2        	    1000	      6000 ns/op	    5200 B/op	      12 allocs/op
BenchmarkEmptyRequest-2        	    1000	      4400 ns/op	    5100 B/op	      12 allocs/op
BenchmarkJWESessionHotPath-2   	     100	      9000 ns/op	    6000 B/op	      30 allocs/op
BenchmarkJWESessionHotPath-2   	     100	      9800 ns/op	    6200 B/op	      30 allocs/op
BenchmarkJWESessionNoCookie-2  	    1000	      4500 ns/op	    5100 B/op	      13 allocs/op
BenchmarkJWESessionSignIn-2    	    1000	      7400 ns/op	    7000 B/op	      40 allocs/op
BenchmarkGorillaSessionsGet-2  	     100	     34400 ns/op	   20000 B/op	     260 allocs/op
BenchmarkSCSRead-2             	     100	     24400 ns/op	   17000 B/op	     250 allocs/op
BenchmarkSCSPut-2              	     100	     10400 ns/op	   10000 B/op	      60 allocs/op
BenchmarkGoJoseDecrypt-2       	   10000	     12500 ns/op	    8900 B/op	     107 allocs/op
BenchmarkFloorOpen-2           	   10000	      4000 ns/op	     900 B/op	      21 allocs/op
BenchmarkFloorSeal-2           	   10000	      1500 ns/op	    1300 B/op	       5 allocs/op
    peers_test.go:99: a log line
--- BENCH: BenchmarkSomething
# @auth/core/jwt on node v20.20.2
BenchmarkAuthJS/Decode	2000	500000 ns/op
BenchmarkAuthJS/Decode-2       	       1	    450000 ns/op	   18000 B/op	      90 allocs/op
BenchmarkSomethingElse-2       	      10	       123 ns/op
PASS
ok  	github.com/jwesession/jwesession/bench	12.3s
`

func TestParseMedians(t *testing.T) {
	in, order, h, err := parse(strings.NewReader(input))
	if err != nil {
		t.Fatal(err)
	}
	if h.cpu != "Test CPU @ 1GHz" || h.goos != "linux" || h.goarch != "amd64" || h.procs != "2" {
		t.Errorf("header %+v", h)
	}
	if order[0] != "EmptyRequest" || order[len(order)-1] != "SomethingElse" || len(order) != 12 {
		t.Errorf("order %q", order)
	}
	res := summarize(in)
	for _, c := range []struct {
		name             string
		runs             int
		ns, bytes, alloc float64
		hasMem           bool
	}{
		{"EmptyRequest", 3, 4400, 5100, 12, true},          // odd count: the middle value
		{"JWESessionHotPath", 2, 9400, 6100, 30, true},     // even count: the mean of the middle two
		{"AuthJS/Decode", 2, 475000, 18000, 90, true},      // node's line has no memory figures
		{"SomethingElse", 1, 123, math.NaN(), 0, false},    // no -benchmem columns
		{"FloorSeal", 1, 1500, 1300, 5, true},              // one run
		{"JWESessionNoCookie", 1, 4500, 5100, 13, true},    // -2 suffix stripped
		{"GorillaSessionsGet", 1, 34400, 20000, 260, true}, // idem
	} {
		r, ok := res[c.name]
		if !ok {
			t.Errorf("%s missing", c.name)
			continue
		}
		if r.runs != c.runs || r.ns != c.ns || r.hasMem != c.hasMem || (c.hasMem && (r.bytes != c.bytes || r.alloc != c.alloc)) {
			t.Errorf("%s: got %+v, want %+v", c.name, r, c)
		}
	}
}

func TestRatios(t *testing.T) {
	in, _, _, err := parse(strings.NewReader(input))
	if err != nil {
		t.Fatal(err)
	}
	tb := table{res: summarize(in)}
	// Net of the empty request (4400 ns, 5100 B, 12 allocs) for HTTP rows:
	// hot path 9400-4400 = 5000; sign-in 7400-4400 = 3000; gorilla
	// 34400-4400 = 30000; scs read 24400-4400 = 20000; scs put
	// 10400-4400 = 6000. The rows without HTTP stay as they are.
	for _, c := range []struct {
		a, b string
		want float64
	}{
		{"JWESessionHotPath", "FloorOpen", 1.25},       // 5000 / 4000
		{"JWESessionSignIn", "FloorSeal", 2},           // 3000 / 1500
		{"GorillaSessionsGet", "JWESessionHotPath", 6}, // 30000 / 5000
		{"SCSRead", "JWESessionHotPath", 4},            // 20000 / 5000
		{"SCSPut", "JWESessionSignIn", 2},              // 6000 / 3000
		{"GoJoseDecrypt", "JWESessionHotPath", 2.5},    // 12500 / 5000
		{"AuthJS/Decode", "JWESessionHotPath", 95},     // 475000 / 5000
	} {
		if got := tb.ratio(c.a, c.b); math.Abs(got-c.want) > 1e-9 {
			t.Errorf("%s ÷ %s = %v, want %v", c.a, c.b, got, c.want)
		}
	}
	if got := tb.allocsNet("JWESessionHotPath"); got != 18 { // 30 - 12
		t.Errorf("hot path net allocs %v, want 18", got)
	}
	if got := tb.allocsNet("JWESessionNoCookie"); got != 1 { // 13 - 12
		t.Errorf("no-cookie net allocs %v, want 1", got)
	}
	if got := tb.ratio("SomethingElse", "JWESessionHotPath"); !math.IsNaN(got) {
		t.Errorf("an unknown benchmark got a ratio %v", got)
	}
}

func TestRender(t *testing.T) {
	var out, errb bytes.Buffer
	if code := run(nil, strings.NewReader(input), &out, &errb); code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	got := out.String()
	for _, want := range []string{
		"Machine: Test CPU @ 1GHz, linux/amd64, GOMAXPROCS 2. Medians of up to 3 run(s).",
		"| empty httptest request, no middleware (subtracted from the HTTP rows) | 4400 | 5100 | 12 | — | — | — | — |\n",
		"| **jwesession hot path**: valid cookie, middleware, handler reads | 9400 | 6100 | 30 | 5000 | 1000 | 18 | 1.00× |\n",
		"| jwesession, no cookie, session untouched | 4500 | 5100 | 13 | 100 | 0 | 1 | — |\n",
		"| **jwesession sign-in**: seal, Set-Cookie, cache headers | 7400 | 7000 | 40 | 3000 | 1900 | 28 | 1.00× |\n",
		"| gorilla/sessions CookieStore: Get + read value | 34400 | 20000 | 260 | 30000 | 14900 | 248 | 6.00× |\n",
		"| scs v2 LoadAndSave (memstore), RenewToken + Put | 10400 | 10000 | 60 | 6000 | 4900 | 48 | 2.00× |\n",
		"| floor: split, base64url, AES-256-GCM open, json.Unmarshal (no HTTP) | 4000 | 900 | 21 | 4000 | 900 | 21 | 0.80× |\n",
		"| seal floor: json.Marshal, AES-256-GCM seal, base64url (no HTTP) | 1500 | 1300 | 5 | 1500 | 1300 | 5 | 0.50× |\n",
		"| Auth.js `decode()` (@auth/core/jwt, Node; no HTTP) | 475000 | — | — | 475000 | — | — | 95.00× |\n",
		"| SomethingElse | 123 | — | — | — | — | — | — |\n",
		"| jwesession hot path ÷ floor (net ns/op) | 1.25× | ≤ 1.2 | no |\n",
		"| jwesession hot path with a companion ÷ floor | — | ≤ 1.3 | — |\n",
		"| gorilla/sessions Get ÷ jwesession hot path | 6.00× | ≥ 5 | yes |\n",
		"| scs read ÷ jwesession hot path | 4.00× | ≥ 5 | no |\n",
		"| jwesession hot path allocs/op, net | 18 | ≤ 15 | no |\n",
		"| jwesession no-cookie allocs/op beyond the empty request | 1 | ≤ 2 | yes |\n",
		"| jwesession sign-in ÷ seal floor (net ns/op) | 2.00× | ≤ 1.5 | no |\n",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("output lacks %q\n%s", want, got)
		}
	}
	// Rows absent from the input are left out; known rows come in table order.
	if strings.Contains(got, "securecookie") {
		t.Error("a row without input was printed")
	}
	if strings.Index(got, "jwesession hot path**") > strings.Index(got, "gorilla/sessions CookieStore") {
		t.Error("rows out of order")
	}
}

// shaped: the empty request and the no-cookie path once, everything else
// per claims shape (rich first in the input: basic's table still comes
// first), an unknown benchmark of one shape, and a companion row.
const shaped = `BenchmarkEmptyRequest-2 1000 4000 ns/op 5000 B/op 12 allocs/op
BenchmarkJWESessionHotPath/claims=rich-2 100 10000 ns/op 7000 B/op 40 allocs/op
BenchmarkJWESessionHotPath/claims=basic-2 100 7000 ns/op 6000 B/op 26 allocs/op
BenchmarkJWESessionHotPathCompanion/claims=basic-2 100 8000 ns/op 6100 B/op 27 allocs/op
BenchmarkJWESessionNoCookie-2 1000 4500 ns/op 5100 B/op 14 allocs/op
BenchmarkFloorOpen/claims=basic-2 100 2500 ns/op 900 B/op 21 allocs/op
BenchmarkFloorOpen/claims=rich-2 100 5000 ns/op 1500 B/op 30 allocs/op
BenchmarkGorillaSessionsGet/claims=rich-2 100 36000 ns/op 20000 B/op 300 allocs/op
BenchmarkOther/claims=rich-2 100 77 ns/op
`

func TestShapes(t *testing.T) {
	var out, errb bytes.Buffer
	if code := run(nil, strings.NewReader(shaped), &out, &errb); code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	got := out.String()
	basic, rich, ok := strings.Cut(got, "**claims=rich**")
	if !ok || !strings.Contains(basic, "**claims=basic**") {
		t.Fatalf("want the basic table, then the rich one:\n%s", got)
	}
	for _, c := range []struct {
		table, want string
	}{
		{basic, "| empty httptest request, no middleware (subtracted from the HTTP rows) | 4000 | 5000 | 12 | — | — | — | — |\n"},
		{rich, "| empty httptest request, no middleware (subtracted from the HTTP rows) | 4000 | 5000 | 12 | — | — | — | — |\n"},
		{basic, "| **jwesession hot path**: valid cookie, middleware, handler reads | 7000 | 6000 | 26 | 3000 | 1000 | 14 | 1.00× |\n"},
		{rich, "| **jwesession hot path**: valid cookie, middleware, handler reads | 10000 | 7000 | 40 | 6000 | 2000 | 28 | 1.00× |\n"},
		{basic, "| jwesession, no cookie, session untouched | 4500 | 5100 | 14 | 500 | 100 | 2 | — |\n"},
		{rich, "| jwesession, no cookie, session untouched | 4500 | 5100 | 14 | 500 | 100 | 2 | — |\n"},
		{basic, "| jwesession hot path ÷ floor (net ns/op) | 1.20× | ≤ 1.2 | yes |\n"},            // 3000 / 2500
		{rich, "| jwesession hot path ÷ floor (net ns/op) | 1.20× | ≤ 1.2 | yes |\n"},             // 6000 / 5000
		{basic, "| jwesession hot path with a companion ÷ floor | 1.60× | ≤ 1.3 | no |\n"},        // 4000 / 2500
		{rich, "| gorilla/sessions Get ÷ jwesession hot path | 5.33× | ≥ 5 | yes |\n"},            // 32000 / 6000
		{basic, "| jwesession hot path allocs/op, net | 14 | ≤ 15 | yes |\n"},                     // stated for basic
		{rich, "| jwesession hot path allocs/op, net | 28 | — (stated for claims=basic) | — |\n"}, // shown, not judged
		{rich, "| Other/claims=rich | 77 | — | — | — | — | — | — |\n"},                            // unknown: its shape's table only
	} {
		if !strings.Contains(c.table, c.want) {
			t.Errorf("table lacks %q\n%s", c.want, c.table)
		}
	}
	if strings.Contains(basic, "gorilla/sessions CookieStore") || strings.Contains(basic, "Other") {
		t.Errorf("the basic table shows rows of the rich shape:\n%s", basic)
	}
}

func TestNoEmptyRequest(t *testing.T) {
	var out, errb bytes.Buffer
	in := "BenchmarkJWESessionHotPath-2 100 9000 ns/op 6000 B/op 30 allocs/op\nBenchmarkFloorOpen-2 100 4000 ns/op 900 B/op 21 allocs/op\n"
	if code := run(nil, strings.NewReader(in), &out, &errb); code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	if !strings.Contains(out.String(), "| **jwesession hot path**: valid cookie, middleware, handler reads | 9000 | 6000 | 30 | — | — | — | — |") ||
		!strings.Contains(out.String(), "| jwesession hot path ÷ floor (net ns/op) | — | ≤ 1.2 | — |") {
		t.Errorf("without the empty request, net figures must be absent:\n%s", out.String())
	}
}

func TestNoInput(t *testing.T) {
	var out, errb bytes.Buffer
	if code := run(nil, strings.NewReader("PASS\nok x 1s\n"), &out, &errb); code != 1 || !strings.Contains(errb.String(), "no benchmark lines") {
		t.Errorf("exit %d, stderr %q", code, errb.String())
	}
	if code := run([]string{"/nonexistent/file"}, strings.NewReader(""), &out, &errb); code != 1 {
		t.Errorf("a missing file: exit %d", code)
	}
}
