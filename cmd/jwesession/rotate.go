package main

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jwesession/jwesession"
)

// rotateOptions are rotate's flags.
type rotateOptions struct {
	absolute, leeway time.Duration
	force            bool
	key, id, at      string
}

func (t tool) rotate(args []string) int {
	fs := t.newFlags("rotate")
	keysPath := fs.String("keys-file", "", "the current keys file (else standard input)")
	var o rotateOptions
	fs.DurationVar(&o.absolute, "absolute", defaultLongestAbsolute, "the longest absolute lifetime any of the applications' sign-ins can have: the longer of AbsoluteTimeout and RememberAbsoluteTimeout")
	fs.DurationVar(&o.leeway, "leeway", defaultLeeway, "the applications' Leeway")
	fs.BoolVar(&o.force, "force", false, "retire before the safe time (the leaked-key path)")
	fs.StringVar(&o.key, "key", "", "retire: this key only")
	fs.StringVar(&o.id, "id", "", "add, emergency: the new key's id (default: the one the secret gives)")
	fs.StringVar(&o.at, "at", "", "confirm: when the last instance loaded the promotion (RFC 3339; default now)")
	// The step may come before or after the flags.
	if code, ok := t.parse(fs, args, rotateUsage); !ok {
		return code
	}
	step := fs.Arg(0)
	if fs.NArg() > 0 {
		if code, ok := t.parse(fs, fs.Args()[1:], rotateUsage); !ok {
			return code
		}
	}
	if isHelp(step) || fs.NArg() == 1 && isHelp(fs.Arg(0)) {
		fmt.Fprint(t.stdout, "usage:\n"+rotateUsage)
		return exitOK
	}
	if step == "" || fs.NArg() > 0 {
		fmt.Fprint(t.stderr, "usage:\n"+rotateUsage)
		return exitUsage
	}
	cmd := "rotate " + step
	switch {
	case o.key != "" && step != "retire":
		return t.setupError(cmd, errors.New("-key is for retire"))
	case o.id != "" && step != "add" && step != "emergency":
		return t.setupError(cmd, errors.New("-id is for add and emergency"))
	case o.at != "" && step != "confirm":
		return t.setupError(cmd, errors.New("-at is for confirm"))
	}
	var msg, out string
	var err error
	switch step {
	case "emergency":
		out, msg, err = t.emergency(o)
	case "add", "promote", "confirm", "retire", "remove":
		at := t.now()
		if step == "confirm" && o.at != "" {
			if at, err = t.confirmTime(o.at); err != nil {
				return t.setupError(cmd, err)
			}
		}
		var content string
		if content, err = t.readInput(*keysPath); err != nil {
			return t.setupError(cmd, err)
		}
		var f *keysFile
		if f, err = parseKeysFile(content); err != nil {
			return t.setupError(cmd, err)
		}
		switch step {
		case "add":
			msg, err = t.add(f, o)
		case "promote":
			msg, err = t.promote(f)
		case "confirm":
			msg, err = t.confirm(f, o, at)
		case "retire":
			msg, err = t.retire(f, o)
		case "remove":
			msg, err = t.remove(f)
		}
		out = f.String()
	default:
		fmt.Fprint(t.stderr, "usage:\n"+rotateUsage)
		return exitUsage
	}
	if err != nil {
		return t.fail(cmd, err)
	}
	// Never print a keys file the library would refuse.
	if _, err := jwesession.ParseKeysFile(out); err != nil {
		return t.fail(cmd, fmt.Errorf("internal error: the next keys file is invalid: %w", err))
	}
	fmt.Fprint(t.stdout, out)
	fmt.Fprintln(t.stderr, msg)
	return exitOK
}

// newKeyLine returns a new key line with a fresh secret.
func newKeyLine(id string, state jwesession.KeyState) (fileLine, error) {
	secret, kid, err := newSecret()
	if err != nil {
		return fileLine{}, err
	}
	if id == "" {
		id = kid
	}
	return fileLine{key: true, id: id, kid: id, state: state, secret: secret}, nil
}

// rfc3339 formats a time as the keys file and the messages write it.
func rfc3339(at time.Time) string { return at.UTC().Format(time.RFC3339) }

func (t tool) add(f *keysFile, o rotateOptions) (string, error) {
	idx, p := f.keyIndexes()
	for _, i := range idx[:p] {
		if l := f.lines[i]; l.state == jwesession.DecryptOnly {
			return "", fmt.Errorf("refused: key %s is newer than the primary and waits to be promoted: run `jwesession rotate promote` first", l.kid)
		}
	}
	nl, err := newKeyLine(o.id, jwesession.DecryptOnly)
	if err != nil {
		return "", err
	}
	for _, i := range idx {
		if f.lines[i].kid == nl.kid {
			return "", fmt.Errorf("refused: the keyring already has a key %s", nl.kid)
		}
	}
	at := idx[0]
	f.lines = append(f.lines[:at], append([]fileLine{nl}, f.lines[at:]...)...)
	return fmt.Sprintf("added key %s as decrypt-only, the newest key.\nnext: load this file on every instance, then run `jwesession rotate promote`.", nl.kid), nil
}

// promote makes the newest decrypt-only key primary. It records no
// promotion time: until the last instance has loaded the file, users who
// sign in on one that has not are sealed under the old primary, so the
// time from which the old primary's retirement is counted is when the
// last instance loaded it, which only the operator knows (confirm).
func (t tool) promote(f *keysFile) (string, error) {
	idx, p := f.keyIndexes()
	for _, i := range idx[:p] {
		if f.lines[i].state != jwesession.DecryptOnly {
			continue
		}
		old := &f.lines[idx[p]]
		f.lines[i].state, old.state = jwesession.Primary, jwesession.DecryptOnly
		msg := fmt.Sprintf("promoted key %s; the previous primary %s is decrypt-only.", f.lines[i].kid, old.kid)
		if line := f.removePromoted(); line != "" {
			msg += fmt.Sprintf("\nremoved the line %q: it dated the previous promotion.", line)
		}
		msg += fmt.Sprintf("\nnext: load this file on every instance; once the last one has loaded it, run `jwesession rotate confirm` "+
			"(-at TIME if that was earlier). Until then an instance still on the old file signs users in under %s, "+
			"so %s's retirement is counted from the confirmation.", old.kid, old.kid)
		return msg, nil
	}
	return "", errors.New("refused: no decrypt-only key is newer than the primary: run `jwesession rotate add` first")
}

// confirmTime parses -at: an RFC 3339 time, not in the future.
func (t tool) confirmTime(s string) (time.Time, error) {
	at, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("-at wants an RFC 3339 time such as 2026-11-23T12:00:00Z: %v", err)
	}
	if now := t.now(); at.After(now) {
		return time.Time{}, fmt.Errorf("-at %s is in the future (now is %s): confirm when the last instance has loaded the promotion", rfc3339(at), rfc3339(now))
	}
	return at, nil
}

// confirm records when the last instance loaded the promotion: the
// promoted line, from which the previous primary's safe retirement time is
// counted. Run again, it replaces the recorded time.
func (t tool) confirm(f *keysFile, o rotateOptions, at time.Time) (string, error) {
	prev := f.previous()
	if prev == nil {
		return "", errors.New("refused: no decrypt-only key is older than the primary, so there is no previous primary to retire: confirm follows `jwesession rotate promote`")
	}
	at = at.Truncate(time.Second)
	was := f.kr.PromotedAt()
	f.setPromoted(at)
	next, err := jwesession.ParseKeysFile(f.String())
	if err != nil {
		return "", fmt.Errorf("internal error: the next keys file is invalid: %w", err)
	}
	safe, _ := next.SafeToRetireAt(o.absolute, o.leeway)
	msg := fmt.Sprintf("recorded promoted: %s: the last instance loaded the promotion of %s by then.", rfc3339(at), next.Primary().ID)
	if !was.IsZero() {
		msg += fmt.Sprintf("\nreplaced the recorded promoted: %s (running confirm again replaces the time).", rfc3339(was))
	}
	msg += fmt.Sprintf("\n%s is safe to retire from %s (promoted + longest absolute lifetime %v + leeway %v).\n"+
		"next: load this file on every instance; from %s run `jwesession rotate retire`.",
		f.kids(prev), rfc3339(safe), o.absolute, o.leeway, rfc3339(safe))
	return msg, nil
}

func (t tool) retire(f *keysFile, o rotateOptions) (string, error) {
	idx, p := f.keyIndexes()
	var targets []int // indexes in f.lines
	newer := false
	if o.key != "" {
		for k, i := range idx {
			if l := f.lines[i]; l.kid == o.key {
				switch l.state {
				case jwesession.Primary:
					return "", fmt.Errorf("refused: %s is the primary: promote another key first, or use `jwesession rotate emergency`", o.key)
				case jwesession.Retired:
					return "", fmt.Errorf("refused: %s is already retired", o.key)
				}
				targets, newer = []int{i}, k < p
			}
		}
		if targets == nil {
			return "", fmt.Errorf("refused: no key %s in the keys file", o.key)
		}
	} else if targets = f.previous(); targets == nil {
		return "", errors.New("refused: nothing to retire: no decrypt-only key is older than the primary")
	}
	list := f.kids(targets)
	safe, known := f.kr.SafeToRetireAt(o.absolute, o.leeway)
	early := ""
	switch {
	case o.force:
		early = fmt.Sprintf("\nforced: sessions still under %s are signed out as soon as an instance loads this file.", list)
	case newer:
		return "", fmt.Errorf("refused: %s is newer than the primary, so the tool cannot tell which sessions use it; -force retires it now (the leaked-key path)", list)
	case !known:
		return "", fmt.Errorf("refused: the keys file records no promotion time (no promoted: line), so the tool cannot tell when %s is safe to retire: "+
			"once every instance has loaded the promoted file, run `jwesession rotate confirm`, then retire from the time it prints; or -force (a leaked key)", list)
	case t.now().Before(safe):
		return "", fmt.Errorf("refused: %s is not safe to retire before %s (promoted %s + longest absolute lifetime %v + leeway %v): sessions under it would be signed out; wait, or -force for a leaked key",
			list, rfc3339(safe), rfc3339(f.kr.PromotedAt()), o.absolute, o.leeway)
	}
	for _, i := range targets {
		f.lines[i].state = jwesession.Retired
	}
	return fmt.Sprintf("retired %s.%s\nnext: load this file on every instance, then run `jwesession rotate remove`.", list, early), nil
}

func (t tool) remove(f *keysFile) (string, error) {
	var ids []string
	kept := f.lines[:0:0]
	for _, l := range f.lines {
		if l.key && l.state == jwesession.Retired {
			ids = append(ids, l.kid)
			continue
		}
		kept = append(kept, l)
	}
	if ids == nil {
		return "", errors.New("refused: no retired key to remove")
	}
	f.lines = kept
	return fmt.Sprintf("removed %s: tokens under it are now unknown keys.\nnext: load this file on every instance.", strings.Join(ids, ", ")), nil
}

func (t tool) emergency(o rotateOptions) (string, string, error) {
	nl, err := newKeyLine(o.id, jwesession.Primary)
	if err != nil {
		return "", "", err
	}
	out := "# emergency replacement " + rfc3339(t.now()) + ": every previous key removed, everyone signs in again\n" + nl.render() + "\n"
	return out, fmt.Sprintf("a new keyring of one primary key %s.\nnext: load this file on every instance at once; every session under an old key ends.", nl.kid), nil
}
