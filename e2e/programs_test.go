package e2e

import (
	"fmt"
	"strings"
	"testing"
)

// recordingTB records what requireProgram asks of its test instead of
// ending it.
type recordingTB struct {
	testing.TB
	skipped, fatal string
}

func (r *recordingTB) Helper() {}

func (r *recordingTB) Skipf(format string, args ...any) { r.skipped = fmt.Sprintf(format, args...) }

func (r *recordingTB) Fatalf(format string, args ...any) { r.fatal = fmt.Sprintf(format, args...) }

// TestRequireProgram: a missing program skips the test locally, with a
// message naming the package to install, and fails it under CI=true.
func TestRequireProgram(t *testing.T) {
	const missing = "jwesession-e2e-no-such-program"
	installHint[missing] = "apt-get install " + missing
	defer delete(installHint, missing)

	t.Setenv("CI", "")
	local := &recordingTB{TB: t}
	if p := requireProgram(local, missing); p != "" || local.fatal != "" || !strings.Contains(local.skipped, "skipping") || !strings.Contains(local.skipped, "apt-get install "+missing) {
		t.Errorf("locally: path %q, skipped %q, fatal %q; want a skip naming the package", p, local.skipped, local.fatal)
	}

	t.Setenv("CI", "true")
	ci := &recordingTB{TB: t}
	if p := requireProgram(ci, missing); p != "" || ci.skipped != "" || !strings.Contains(ci.fatal, "CI=true") {
		t.Errorf("under CI=true: path %q, skipped %q, fatal %q; want a failure", p, ci.skipped, ci.fatal)
	}

	// A program that exists is found, wherever CI says.
	if p := requireProgram(ci, "sh"); p == "" || ci.skipped != "" {
		t.Errorf("sh: path %q, skipped %q", p, ci.skipped)
	}
}
