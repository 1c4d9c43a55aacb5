// Command benchtable turns the comparison benchmarks' output into markdown
// tables: ns/op, B/op and allocs/op (the median of every run given), the
// same net of BenchmarkEmptyRequest for the benchmarks that serve an
// httptest request, each contender's net time divided by jwesession's (hot
// path for the read paths, sign-in for the write paths), and the ratios the
// performance targets are stated in. Benchmarks run once per claims shape
// (sub-benchmarks "Name/claims=basic", "Name/claims=rich") give one table
// per shape; a benchmark without that suffix (the empty request, the
// no-cookie path, Auth.js) appears in every table.
//
//	cd bench
//	go test -run '^$' -bench . -benchmem -count 6 . | go run ./cmd/benchtable
//	{ go test -run '^$' -bench . -benchmem .; node authjs/bench.mjs; } | go run ./cmd/benchtable
//	go run ./cmd/benchtable run1.txt run2.txt
//
// It reads Go benchmark lines ("BenchmarkName-2  N  123 ns/op  45 B/op
// 6 allocs/op") from the files named, or standard input, and ignores every
// other line; authjs/bench.mjs prints its results in the same format.
package main

import (
	"bufio"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// kind says which jwesession benchmark a row is compared with.
type kind int

const (
	other kind = iota
	read       // compared with the jwesession hot path
	write      // compared with the jwesession sign-in
)

// spec describes a known benchmark. Names are without "Benchmark" and the
// -GOMAXPROCS suffix.
type spec struct {
	name     string
	label    string
	http     bool // serves an httptest request: shown net of EmptyRequest
	kind     kind
	external bool // timed outside Go (Node): no B/op or allocs/op
}

const (
	empty        = "EmptyRequest"
	hotPath      = "JWESessionHotPath"
	hotCompanion = "JWESessionHotPathCompanion"
	hotTombstone = "JWESessionHotPathTombstone"
	noCookie     = "JWESessionNoCookie"
	signIn       = "JWESessionSignIn"
	gorilla      = "GorillaSessionsGet"
	scsRead      = "SCSRead"
	floor        = "FloorOpen"
	sealFl       = "FloorSeal"
)

// claimsMark separates a benchmark's name from its claims shape.
const claimsMark = "/claims="

// specs is the table's row order.
var specs = []spec{
	{empty, "empty httptest request, no middleware (subtracted from the HTTP rows)", true, other, false},
	{hotPath, "**jwesession hot path**: valid cookie, middleware, handler reads", true, read, false},
	{hotCompanion, "jwesession hot path with a companion (the token's refresh due: the companion opened too)", true, read, false},
	{hotTombstone, "jwesession hot path with the tombstone of an earlier sign-in (recorded in the token: not opened)", true, read, false},
	{"JWESessionAuthJSRead", "jwesession reading an **Auth.js v5** token (A256CBC-HS512): middleware, handler reads", true, read, false},
	{"JWESessionNextAuth4Read", "jwesession reading a NextAuth.js v4 token (A256GCM): middleware, handler reads", true, read, false},
	{noCookie, "jwesession, no cookie, session untouched", true, other, false},
	{signIn, "**jwesession sign-in**: seal, Set-Cookie, cache headers", true, write, false},
	{gorilla, "gorilla/sessions CookieStore: Get + read value", true, read, false},
	{"GorillaSessionsSave", "gorilla/sessions CookieStore: Save (sign-in)", true, write, false},
	{"SecureCookieGobDecode", "gorilla/securecookie Decode, gob", true, read, false},
	{"SecureCookieGobEncode", "gorilla/securecookie Encode + SetCookie, gob", true, write, false},
	{"SecureCookieJSONDecode", "gorilla/securecookie Decode, JSONEncoder", true, read, false},
	{"SecureCookieJSONEncode", "gorilla/securecookie Encode + SetCookie, JSONEncoder", true, write, false},
	{scsRead, "scs v2 LoadAndSave (memstore), handler reads", true, read, false},
	{"SCSPut", "scs v2 LoadAndSave (memstore), RenewToken + Put", true, write, false},
	{"GoJoseDecrypt", "go-jose alone: ParseEncryptedCompact + Decrypt + json.Unmarshal (no HTTP)", false, read, false},
	{floor, "floor: split, base64url, AES-256-GCM open, json.Unmarshal (no HTTP)", false, read, false},
	{sealFl, "seal floor: json.Marshal, AES-256-GCM seal, base64url (no HTTP)", false, write, false},
	{"AuthJS/Decode", "Auth.js `decode()` (@auth/core/jwt, Node; no HTTP)", false, read, true},
	{"AuthJS/Encode", "Auth.js `encode()` (@auth/core/jwt, Node; no HTTP)", false, write, true},
}

// result is the median of one benchmark's runs. has* tell which metrics
// were present.
type result struct {
	name             string
	runs             int
	ns, bytes, alloc float64
	hasMem           bool
}

// samples gathers one benchmark's runs.
type samples struct {
	ns, bytes, allocs []float64
}

// header is what the input says about the machine.
type header struct {
	goos, goarch, cpu, pkg string
	procs                  string // the -N suffix of the first Go benchmark line
}

var procSuffix = regexp.MustCompile(`-\d+$`)

// parse reads benchmark lines and returns the samples by name, the names in
// first-seen order, and the machine header lines.
func parse(r io.Reader) (map[string]*samples, []string, header, error) {
	out := map[string]*samples{}
	var order []string
	var h header
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		for _, p := range []struct {
			prefix string
			dst    *string
		}{{"goos:", &h.goos}, {"goarch:", &h.goarch}, {"cpu:", &h.cpu}, {"pkg:", &h.pkg}} {
			if v, ok := strings.CutPrefix(line, p.prefix); ok && *p.dst == "" {
				*p.dst = strings.TrimSpace(v)
			}
		}
		f := strings.Fields(line)
		if len(f) < 4 || !strings.HasPrefix(f[0], "Benchmark") {
			continue
		}
		if _, err := strconv.ParseUint(f[1], 10, 64); err != nil {
			continue // "BenchmarkX-2" alone (-v), or a log line
		}
		name := strings.TrimPrefix(f[0], "Benchmark")
		if m := procSuffix.FindString(name); m != "" {
			name = strings.TrimSuffix(name, m)
			if h.procs == "" {
				h.procs = m[1:]
			}
		}
		var ns, b, a float64
		var hasNs, hasB, hasA bool
		for i := 2; i+1 < len(f); i += 2 {
			v, err := strconv.ParseFloat(f[i], 64)
			if err != nil {
				break
			}
			switch f[i+1] {
			case "ns/op":
				ns, hasNs = v, true
			case "B/op":
				b, hasB = v, true
			case "allocs/op":
				a, hasA = v, true
			}
		}
		if !hasNs {
			continue
		}
		s := out[name]
		if s == nil {
			s = &samples{}
			out[name] = s
			order = append(order, name)
		}
		s.ns = append(s.ns, ns)
		if hasB && hasA {
			s.bytes = append(s.bytes, b)
			s.allocs = append(s.allocs, a)
		}
	}
	return out, order, h, sc.Err()
}

// median returns the median of v (the mean of the middle two for an even
// count), or NaN for none.
func median(v []float64) float64 {
	if len(v) == 0 {
		return math.NaN()
	}
	s := slices.Clone(v)
	slices.Sort(s)
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

// summarize returns each benchmark's medians.
func summarize(in map[string]*samples) map[string]result {
	out := map[string]result{}
	for name, s := range in {
		r := result{name: name, runs: len(s.ns), ns: median(s.ns)}
		if len(s.bytes) > 0 {
			r.hasMem, r.bytes, r.alloc = true, median(s.bytes), median(s.allocs)
		}
		out[name] = r
	}
	return out
}

// table holds the medians and derives the net figures and ratios, for one
// claims shape ("" when the benchmarks name none).
type table struct {
	res    map[string]result
	claims string
}

// get returns the result of the benchmark name for the table's claims
// shape, or the one without a shape.
func (t table) get(name string) (result, bool) {
	if t.claims != "" {
		if r, ok := t.res[name+claimsMark+t.claims]; ok {
			return r, true
		}
	}
	r, ok := t.res[name]
	return r, ok
}

func (t table) spec(name string) (spec, bool) {
	for _, s := range specs {
		if s.name == name {
			return s, true
		}
	}
	return spec{name: name, label: name}, false
}

// net returns a benchmark's medians net of the empty request when it is an
// HTTP benchmark, as they are otherwise; ok is false when it is missing, or
// an HTTP benchmark without the empty request.
func (t table) net(name string) (r result, ok bool) {
	r, ok = t.get(name)
	if !ok {
		return r, false
	}
	sp, known := t.spec(name)
	if !known {
		return r, false
	}
	if sp.http {
		e, ok := t.get(empty)
		if !ok {
			return r, false
		}
		r.ns -= e.ns
		if r.hasMem && e.hasMem {
			r.bytes -= e.bytes
			r.alloc -= e.alloc
		} else {
			r.hasMem = false
		}
	}
	if sp.external {
		r.hasMem = false
	}
	return r, true
}

// ratio returns net(a).ns ÷ net(b).ns, or NaN.
func (t table) ratio(a, b string) float64 {
	x, ok1 := t.net(a)
	y, ok2 := t.net(b)
	if !ok1 || !ok2 || y.ns <= 0 {
		return math.NaN()
	}
	return x.ns / y.ns
}

// allocsNet returns a benchmark's allocs/op net of the empty request.
func (t table) allocsNet(name string) float64 {
	r, ok := t.net(name)
	if !ok || !r.hasMem {
		return math.NaN()
	}
	return r.alloc
}

func num(v float64) string {
	switch {
	case math.IsNaN(v):
		return "—"
	case math.Abs(v) >= 100:
		return strconv.FormatFloat(v, 'f', 0, 64)
	default:
		return strconv.FormatFloat(v, 'f', -1, 64)
	}
}

func ratioStr(v float64) string {
	if math.IsNaN(v) {
		return "—"
	}
	return strconv.FormatFloat(v, 'f', 2, 64) + "×"
}

// target is one of the targets, as a ratio or a count.
type target struct {
	what  string
	value float64
	want  string // "≤ 1.5" or "≥ 5"
	limit float64
	atMos bool   // value must be at most limit (else at least)
	count bool   // an allocation count, not a ratio
	only  string // the claims shape the target is stated for ("": every one)
}

// basicClaims is the claims shape of the library's own benchmarks, which
// the allocation target is stated for (the data's own strings and slices
// are encoding/json's allocations, so a larger shape has more).
const basicClaims = "basic"

func (t table) targets() []target {
	return []target{
		{"jwesession hot path ÷ floor (net ns/op)", t.ratio(hotPath, floor), "≤ 1.2", 1.2, true, false, ""},
		{"jwesession hot path with a companion ÷ floor", t.ratio(hotCompanion, floor), "≤ 1.3", 1.3, true, false, ""},
		{"jwesession hot path with a tombstone ÷ floor", t.ratio(hotTombstone, floor), "≤ 1.3", 1.3, true, false, ""},
		{"gorilla/sessions Get ÷ jwesession hot path", t.ratio(gorilla, hotPath), "≥ 5", 5, false, false, ""},
		{"scs read ÷ jwesession hot path", t.ratio(scsRead, hotPath), "≥ 5", 5, false, false, ""},
		{"jwesession hot path allocs/op, net", t.allocsNet(hotPath), "≤ 15", 15, true, true, basicClaims},
		{"jwesession no-cookie allocs/op beyond the empty request", t.allocsNet(noCookie), "≤ 2", 2, true, true, ""},
		{"jwesession sign-in ÷ seal floor (net ns/op)", t.ratio(signIn, sealFl), "≤ 1.5", 1.5, true, false, ""},
	}
}

// applies reports whether the target is stated for the table's claims.
func (t table) applies(tg target) bool {
	return tg.only == "" || t.claims == "" || t.claims == tg.only
}

func (tg target) met() string {
	switch {
	case math.IsNaN(tg.value):
		return "—"
	case tg.atMos && tg.value <= tg.limit, !tg.atMos && tg.value >= tg.limit:
		return "yes"
	}
	return "no"
}

// shapes returns the claims shapes the benchmark names carry, basic
// first, then in first-seen order; none: one table for every name.
func shapes(order []string) []string {
	var out []string
	for _, n := range order {
		if _, c, ok := strings.Cut(n, claimsMark); ok && !slices.Contains(out, c) {
			out = append(out, c)
		}
	}
	if i := slices.Index(out, basicClaims); i > 0 {
		out = slices.Insert(slices.Delete(out, i, i+1), 0, basicClaims)
	}
	if len(out) == 0 {
		return []string{""}
	}
	return out
}

// render writes the markdown: a line on the machine, then a table of the
// benchmarks and one of the targets for each claims shape.
func render(w io.Writer, res map[string]result, order []string, h header) {
	runs := 0
	for _, r := range res {
		runs = max(runs, r.runs)
	}
	var machine []string
	if h.cpu != "" {
		machine = append(machine, h.cpu)
	}
	if h.goos != "" || h.goarch != "" {
		machine = append(machine, h.goos+"/"+h.goarch)
	}
	if h.procs != "" {
		machine = append(machine, "GOMAXPROCS "+h.procs)
	}
	if len(machine) > 0 {
		fmt.Fprintf(w, "Machine: %s. ", strings.Join(machine, ", "))
	}
	fmt.Fprintf(w, "Medians of up to %d run(s). \"net\": minus the empty request, for the rows that serve an httptest request. \"÷ jwesession\": net ns/op divided by jwesession's (hot path for reads, sign-in for writes).\n", runs)
	for _, c := range shapes(order) {
		fmt.Fprintln(w)
		if c != "" {
			fmt.Fprintf(w, "**claims=%s**\n\n", c)
		}
		renderShape(w, table{res: res, claims: c}, order)
	}
}

// renderShape writes one claims shape's tables.
func renderShape(w io.Writer, t table, order []string) {
	var names []string
	for _, s := range specs {
		if _, ok := t.get(s.name); ok {
			names = append(names, s.name)
		}
	}
	for _, n := range order {
		base, c, shaped := strings.Cut(n, claimsMark)
		if _, known := t.spec(base); !known && (!shaped || c == t.claims) {
			names = append(names, n)
		}
	}
	fmt.Fprintln(w, "| benchmark | ns/op | B/op | allocs/op | net ns/op | net B/op | net allocs/op | ÷ jwesession |")
	fmt.Fprintln(w, "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
	for _, n := range names {
		r, _ := t.get(n)
		sp, known := t.spec(n)
		b, a := math.NaN(), math.NaN()
		if r.hasMem && !sp.external {
			b, a = r.bytes, r.alloc
		}
		nn, nb, na, rat := math.NaN(), math.NaN(), math.NaN(), math.NaN()
		if nr, ok := t.net(n); ok && known && n != empty {
			nn = nr.ns
			if nr.hasMem {
				nb, na = nr.bytes, nr.alloc
			}
			switch sp.kind {
			case read:
				rat = t.ratio(n, hotPath)
			case write:
				rat = t.ratio(n, signIn)
			}
		}
		fmt.Fprintf(w, "| %s | %s | %s | %s | %s | %s | %s | %s |\n", sp.label, num(r.ns), num(b), num(a), num(nn), num(nb), num(na), ratioStr(rat))
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, "| target | measured | wanted | met |")
	fmt.Fprintln(w, "| --- | ---: | ---: | :---: |")
	for _, tg := range t.targets() {
		v := ratioStr(tg.value)
		if tg.count {
			v = num(tg.value)
		}
		want, met := tg.want, tg.met()
		if !t.applies(tg) {
			want, met = "— (stated for claims="+tg.only+")", "—"
		}
		fmt.Fprintf(w, "| %s | %s | %s | %s |\n", tg.what, v, want, met)
	}
}

func run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("benchtable", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: go test -run '^$' -bench . -benchmem [-count N] . | benchtable\n       benchtable FILE...   (\"-\" is standard input)")
	}
	if err := fs.Parse(args); err != nil {
		return 2
	}
	var readers []io.Reader
	if fs.NArg() == 0 {
		readers = append(readers, stdin)
	}
	for _, name := range fs.Args() {
		if name == "-" {
			readers = append(readers, stdin)
			continue
		}
		f, err := os.Open(name)
		if err != nil {
			fmt.Fprintln(stderr, "benchtable:", err)
			return 1
		}
		defer f.Close()
		readers = append(readers, f)
	}
	in, order, h, err := parse(io.MultiReader(readers...))
	if err != nil {
		fmt.Fprintln(stderr, "benchtable: reading input:", err)
		return 1
	}
	if len(in) == 0 {
		fmt.Fprintln(stderr, "benchtable: no benchmark lines in the input (did the benchmarks run? pass -bench . and -benchmem)")
		return 1
	}
	render(stdout, summarize(in), order, h)
	return 0
}

func main() {
	os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}
