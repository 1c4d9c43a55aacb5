package main

import (
	"errors"
	"strings"
	"time"

	"github.com/jwesession/jwesession"
)

// The keys file as rotate rewrites it: its lines as read, comments and
// blank lines kept byte for byte, key lines rewritten only when their
// state changes.

// fileLine is one line of a keys file as the tool rewrites it.
type fileLine struct {
	text   string // as read, without its CR
	key    bool
	id     string // as written: an id or "-"
	state  jwesession.KeyState
	secret string
	kid    string // the id the library gives the key
	// promoted: the "promoted: TIME" line
	promoted bool
}

// render returns the line as it is to be written.
func (l fileLine) render() string {
	if !l.key {
		return l.text
	}
	return l.id + ":" + l.state.String() + ":" + l.secret
}

// keysFile is a keys file's lines and the keyring the library reads from it.
type keysFile struct {
	lines []fileLine
	kr    *jwesession.Keyring
}

// errDisagree: the tool and the library read a keys file differently.
var errDisagree = errors.New("internal error: the tool reads this keys file differently from the library")

// parseKeysFile reads content as the library does (ParseKeysFile, which
// validates it) and splits it into lines the tool can rewrite, checking
// that both readings agree.
func parseKeysFile(content string) (*keysFile, error) {
	kr, err := jwesession.ParseKeysFile(content)
	if err != nil {
		return nil, err
	}
	f := &keysFile{kr: kr}
	for _, text := range strings.Split(strings.TrimSuffix(content, "\n"), "\n") {
		text = strings.TrimRight(text, "\r")
		l := fileLine{text: text}
		switch t := strings.TrimSpace(text); {
		case t == "" || strings.HasPrefix(t, "#"):
		case isPromotedLine(text):
			l.promoted = true
		default:
			id, rest, _ := strings.Cut(text, ":")
			state, secret, _ := strings.Cut(rest, ":")
			l.key, l.id, l.secret = true, strings.TrimSpace(id), secret
			if l.state, err = jwesession.ParseKeyState(strings.TrimSpace(state)); err != nil {
				return nil, errDisagree
			}
			l.kid = l.id
			if l.id == "-" {
				s, err := jwesession.NewSecret(secret)
				if err != nil {
					return nil, errDisagree
				}
				l.kid = jwesession.DefaultKeyID(s)
			}
		}
		f.lines = append(f.lines, l)
	}
	keys := kr.Keys()
	i := 0
	for _, l := range f.lines {
		if !l.key {
			continue
		}
		if i >= len(keys) || keys[i].ID != l.kid || keys[i].State != l.state {
			return nil, errDisagree
		}
		i++
	}
	if i != len(keys) {
		return nil, errDisagree
	}
	return f, nil
}

// isPromotedLine is the library's rule: "promoted:" followed by anything
// but a key state and a colon.
func isPromotedLine(line string) bool {
	id, rest, ok := strings.Cut(line, ":")
	if !ok || strings.TrimSpace(id) != "promoted" {
		return false
	}
	if state, _, ok := strings.Cut(rest, ":"); ok {
		if _, err := jwesession.ParseKeyState(strings.TrimSpace(state)); err == nil {
			return false
		}
	}
	return true
}

// keyIndexes returns the indexes in f.lines of the key lines, newest first,
// and the position of the primary among them.
func (f *keysFile) keyIndexes() (idx []int, primary int) {
	for i, l := range f.lines {
		if l.key {
			if l.state == jwesession.Primary {
				primary = len(idx)
			}
			idx = append(idx, i)
		}
	}
	return idx, primary
}

// previous returns the indexes in f.lines of the decrypt-only keys older
// than the primary: the keys a retire without -key retires.
func (f *keysFile) previous() []int {
	idx, p := f.keyIndexes()
	var out []int
	for _, i := range idx[p+1:] {
		if f.lines[i].state == jwesession.DecryptOnly {
			out = append(out, i)
		}
	}
	return out
}

// kids returns the ids of the keys at the indexes, comma-separated.
func (f *keysFile) kids(idx []int) string {
	ids := make([]string, len(idx))
	for n, i := range idx {
		ids[n] = f.lines[i].kid
	}
	return strings.Join(ids, ", ")
}

// String returns the file's text.
func (f *keysFile) String() string {
	var b strings.Builder
	for _, l := range f.lines {
		b.WriteString(l.render())
		b.WriteByte('\n')
	}
	return b.String()
}

// setPromoted writes the promoted line: in place of the current one, or
// after the last key.
func (f *keysFile) setPromoted(at time.Time) {
	text := "promoted: " + at.UTC().Format(time.RFC3339)
	last := 0
	for i, l := range f.lines {
		if l.promoted {
			f.lines[i].text = text
			return
		}
		if l.key {
			last = i
		}
	}
	f.lines = append(f.lines[:last+1], append([]fileLine{{text: text, promoted: true}}, f.lines[last+1:]...)...)
}

// removePromoted drops the promoted line and returns its text, or "" when
// there was none.
func (f *keysFile) removePromoted() string {
	for i, l := range f.lines {
		if l.promoted {
			f.lines = append(f.lines[:i:i], f.lines[i+1:]...)
			return strings.TrimSpace(l.text)
		}
	}
	return ""
}
