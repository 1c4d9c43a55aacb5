package jwesession

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Fuzz targets for the keyring parsers: JWESESSION_KEYS (FuzzParseKeys)
// and the keys file (FuzzParseKeysFile). No panic; an error never holds
// the secret-looking parts of the input; an accepted keyring prints no
// secret, holds none with leading or trailing whitespace, and round-trips
// through the syntax. Seeds: f.Add below and
// testdata/fuzz/<FuzzName>/. Each runs in CI for 100000
// executions (see .ci/run):
//
//	go test -run '^$' -fuzz '^FuzzParseKeysFile$' -fuzztime 100000x .

// kfWindow is the length of the pieces of a secret looked for in errors.
const kfWindow = 12

// kfBadInputs give every kind of keyring error once, with secrets the
// fuzzer's inputs do not share; their messages are the fixed vocabulary
// that an error may share with an input by chance.
var kfBadInputs = []string{
	"", " ", "a", "a:primary", "a:primary:", "a:primary:short", "a:primary:" + strings.Repeat("xy", 20),
	"a b:primary:" + secretA, "a:active:" + secretA, "a:primary:" + secretA + ",b:primary:" + secretB,
	"a:decrypt-only:" + secretA, "a:primary:" + secretA + ",a:decrypt-only:" + secretB,
	"a:primary:" + secretA + ",b:retired:" + secretA, "a:primary:" + secretA + ",",
	"promoted: x\na:primary:" + secretA, "promoted: 2026-11-23T12:00:00Z\npromoted: 2026-11-23T12:00:00Z",
	"a:primary: " + secretA, "a:primary:" + secretA + " \n", "a:primary:" + secretA + "\t\r\n",
}

// kfVocabulary returns the messages of kfBadInputs, both parsers.
func kfVocabulary() string {
	var b strings.Builder
	for _, in := range kfBadInputs {
		for _, parse := range []func(string) (*Keyring, error){ParseKeys, ParseKeysFile} {
			if _, err := parse(in); err != nil {
				b.WriteString(err.Error())
				b.WriteByte('\n')
			}
		}
	}
	_, err := NewKeyring(Key{ID: "a", State: KeyState(9), Secret: Secret{b: func() []byte { return []byte{1} }}})
	b.WriteString(err.Error())
	return b.String()
}

// kfSecretParts splits entries (ID:STATE:SECRET) into what may be shown
// (ids that are valid, and "-") and what may be a secret: everything else,
// including a state field, which holds the secret when the two are
// swapped.
func kfSecretParts(entries []string) (ids, secrets []string) {
	for _, e := range entries {
		id, rest, ok := strings.Cut(e, ":")
		if ok && (validKeyID(strings.TrimSpace(id)) || strings.TrimSpace(id) == "-") {
			ids = append(ids, strings.TrimSpace(id))
			secrets = append(secrets, rest)
			continue
		}
		secrets = append(secrets, e)
	}
	return ids, secrets
}

// kfCheckNoLeak fails if msg holds a kfWindow-byte piece of a secret part
// that is neither fixed message text nor part of an id.
func kfCheckNoLeak(t *testing.T, msg, vocab string, ids, secrets []string) {
	t.Helper()
	for _, s := range secrets {
		for i := 0; i+kfWindow <= len(s); i++ {
			w := s[i : i+kfWindow]
			if !strings.Contains(msg, w) || strings.Contains(vocab, w) {
				continue
			}
			inID := false
			for _, id := range ids {
				inID = inID || strings.Contains(id, w)
			}
			if !inID {
				t.Fatalf("the error holds %q of the input's secret part: %v", w, msg)
			}
		}
	}
}

// kfFormat writes kr in the keys-file syntax (sep "\n") or the
// JWESESSION_KEYS syntax (sep ","), ids explicit.
func kfFormat(kr *Keyring, sep string) string {
	var lines []string
	for _, k := range kr.keys {
		lines = append(lines, k.ID+":"+k.State.String()+":"+string(k.Secret.bytes()))
	}
	if sep == "\n" && !kr.promotedAt.IsZero() {
		lines = append(lines, "promoted: "+kr.promotedAt.Format(time.RFC3339Nano))
	}
	return strings.Join(lines, sep)
}

// kfCheckAccepted checks an accepted keyring: it prints no secret, and the
// syntax written back parses to the same keyring.
func kfCheckAccepted(t *testing.T, kr *Keyring, sep string, parse func(string) (*Keyring, error)) {
	t.Helper()
	for _, k := range kr.keys {
		s := string(k.Secret.bytes())
		if strings.Contains(kr.String(), s) {
			t.Fatalf("String shows a secret: %s", kr)
		}
		if strings.TrimSpace(s) != s {
			t.Fatalf("key %s: a secret with leading or trailing whitespace was accepted", k.ID)
		}
	}
	again, err := parse(kfFormat(kr, sep))
	if err != nil {
		t.Fatalf("the keyring written back does not parse: %v", err)
	}
	if !again.equal(kr) {
		t.Fatalf("round trip changed the keyring: %v -> %v", kr, again)
	}
}

func FuzzParseKeys(f *testing.F) {
	for _, s := range kfBadInputs {
		f.Add(s)
	}
	f.Add("new:decrypt-only:" + secretC + ",cur:primary:" + secretB + ",old:retired:" + secretA)
	f.Add("-:primary:" + secretA + ", k0 : decrypt-only :colon:secret:0123456789:abcdefghijkl")
	vocab := kfVocabulary()
	f.Fuzz(func(t *testing.T, in string) {
		kr, err := ParseKeys(in)
		if err != nil {
			if kr != nil {
				t.Fatalf("a keyring and an error: %v", err)
			}
			ids, secrets := kfSecretParts(strings.Split(in, ","))
			kfCheckNoLeak(t, err.Error(), vocab, ids, secrets)
			return
		}
		kfCheckAccepted(t, kr, ",", ParseKeys)
		if !kr.PromotedAt().IsZero() {
			t.Fatal("JWESESSION_KEYS has no promotion time")
		}
	})
}

func FuzzParseKeysFile(f *testing.F) {
	for _, s := range kfBadInputs {
		f.Add(s)
	}
	f.Add("# keys\n\nb:primary:" + secretB + "\r\n  # old\n-:decrypt-only:" + secretA + "\npromoted: 2026-11-23T12:00:00+01:00\n")
	f.Add("promoted:primary:" + secretB + "\npromoted: 2026-11-23T12:00:00.5Z")
	vocab := kfVocabulary()
	f.Fuzz(func(t *testing.T, in string) {
		kr, err := ParseKeysFile(in)
		if err != nil {
			if kr != nil {
				t.Fatalf("a keyring and an error: %v", err)
			}
			var entries []string
			for _, line := range strings.Split(in, "\n") {
				entries = append(entries, strings.TrimRight(line, "\r"))
			}
			ids, secrets := kfSecretParts(entries)
			kfCheckNoLeak(t, err.Error(), vocab, ids, secrets)
			return
		}
		kfCheckAccepted(t, kr, "\n", ParseKeysFile)
		// The same keys as JWESESSION_KEYS, when no secret holds a comma.
		if env := kfFormat(kr.WithPromotedAt(time.Time{}), ","); strings.Count(env, ",") == len(kr.keys)-1 {
			kr2, err := ParseKeys(env)
			if err != nil || !kr2.equal(kr.WithPromotedAt(time.Time{})) {
				t.Fatalf("ParseKeys disagrees with ParseKeysFile: %v, %v", kr2, err)
			}
		}
	})
}

// The committed seeds named valid_* parse: the fuzzers start from
// keyrings that are accepted, not from something refused at once.
func TestKeysFuzzSeedsAreLive(t *testing.T) {
	for target, parse := range map[string]func(string) (*Keyring, error){"FuzzParseKeys": ParseKeys, "FuzzParseKeysFile": ParseKeysFile} {
		paths, err := filepath.Glob(filepath.Join("testdata", "fuzz", target, "*"))
		require.NoError(t, err)
		require.NotEmpty(t, paths, target)
		valid := 0
		for _, p := range paths {
			in := fuzzCorpusString(t, p)
			_, err := parse(in)
			if strings.HasPrefix(filepath.Base(p), "valid_") {
				assert.NoError(t, err, p)
				valid++
			} else {
				assert.Error(t, err, p)
			}
		}
		assert.Positive(t, valid, target)
	}
	_, err := os.Stat(filepath.Join("testdata", "fuzz", "FuzzParseKeysFile", "valid_k8s_promoted"))
	require.NoError(t, err)
}
