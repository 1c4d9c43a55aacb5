package main

import (
	"testing"

	"github.com/jwesession/jwesession"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// -subject-field prints the data's field as the subject revocation goes
// by; without it there is no subject line.
func TestInspectSubject(t *testing.T) {
	kr, err := jwesession.KeyringFromSecret(secret1)
	require.NoError(t, err)
	tok := token(t, kr, t0, "alice")
	env := []string{"JWESESSION_SECRET", secret1}
	r := runTool(t, tok, env, t0, "inspect", "-subject-field", "user")
	require.Equal(t, 0, r.code, r.err)
	assert.Equal(t, "alice", r.fields()["subject"])
	assert.NotEmpty(t, r.fields()["sign-in id"])
	r = runTool(t, tok, env, t0, "inspect", "-subject-field", "uid")
	assert.Equal(t, `none (no field "uid")`, r.fields()["subject"])
	r = runTool(t, tok, env, t0, "inspect")
	assert.NotContains(t, r.fields(), "subject")
}
