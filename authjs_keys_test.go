package jwesession

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// The configuration and the secrets of an Auth.js manager.

func TestAuthJSConfigDefaults(t *testing.T) {
	for _, tc := range []struct {
		format AuthJSFormat
		dev    bool
		want   string
	}{
		{FormatAuthJS, false, "__Secure-authjs.session-token"},
		{FormatAuthJS, true, "authjs.session-token"},
		{FormatNextAuth4, false, "__Secure-next-auth.session-token"},
		{FormatNextAuth4, true, "next-auth.session-token"},
	} {
		m, _ := newAuthJSTest[ajsClaims](t, AuthJSConfig{Format: tc.format, DevelopmentCookies: tc.dev})
		require.Equal(t, tc.want, m.CookieName())
		cfg, err := AuthJSConfig{Format: tc.format}.normalize()
		require.NoError(t, err)
		require.Equal(t, 30*24*time.Hour, cfg.MaxAge)
		require.Equal(t, 15*time.Second, cfg.Leeway)
		require.Equal(t, 4, cfg.MaxChunks)
		require.Zero(t, cfg.RefreshAfter)
	}
	for _, cfg := range []AuthJSConfig{
		{Format: 7},
		{CookieName: "__Secure-authjs.session-token", DevelopmentCookies: true},
		{CookieName: "__Host-x", DevelopmentCookies: true},
		{CookieName: "bad name"},
		{CookieName: "a;b"},
		{CookieName: strings.Repeat("a", 129)},
		{MaxAge: -time.Second},
		{MaxAge: time.Millisecond},
		{RefreshAfter: 30 * 24 * time.Hour},
		{RefreshAfter: time.Millisecond},
		{MaxChunks: 11},
		{Leeway: -1},
	} {
		_, err := cfg.normalize()
		require.ErrorIs(t, err, ErrInvalidConfig, "%+v", cfg)
	}
	s, err := NewAuthJSSecrets(authjsSecret1)
	require.NoError(t, err)
	_, err = NewAuthJS[string](AuthJSConfig{}, s)
	require.ErrorIs(t, err, ErrInvalidConfig, "a claims type that is no JSON object")
	_, err = NewAuthJS[map[int]string](AuthJSConfig{}, s)
	require.ErrorIs(t, err, ErrInvalidConfig)
	_, err = NewAuthJS[ajsClaims](AuthJSConfig{}, nil)
	require.ErrorIs(t, err, ErrNoSecret)
}

func TestAuthJSSecretsFromLookup(t *testing.T) {
	const a, n, s1, s2, s3 = authjsSecret1, authjsSecret2, authjsSecret3, "authjs-test-secret-4-abcdefghijklmnopqrstuv", "authjs-test-secret-5-ABCDEFGHIJKLMNOPQRSTUV"
	for _, tc := range []struct {
		name   string
		format AuthJSFormat
		env    map[string]string
		want   []string // secrets, newest first; nil: an error
		warn   []string // variables warned about as ignored
	}{
		{"v5 AUTH_SECRET", FormatAuthJS, map[string]string{"AUTH_SECRET": a}, []string{a}, nil},
		{"v5 AUTH_SECRET wins over 1..3, which next-auth ignores", FormatAuthJS, map[string]string{"AUTH_SECRET": a, "AUTH_SECRET_1": s1, "AUTH_SECRET_2": s2}, []string{a}, []string{"AUTH_SECRET_1", "AUTH_SECRET_2"}},
		{"v5 NEXTAUTH_SECRET when no AUTH_SECRET", FormatAuthJS, map[string]string{"NEXTAUTH_SECRET": n, "AUTH_SECRET_1": s1}, []string{n}, []string{"AUTH_SECRET_1"}},
		{"v5 AUTH_SECRET over NEXTAUTH_SECRET", FormatAuthJS, map[string]string{"AUTH_SECRET": a, "NEXTAUTH_SECRET": n}, []string{a}, []string{"NEXTAUTH_SECRET"}},
		{"v5 numbered only, newest first", FormatAuthJS, map[string]string{"AUTH_SECRET_1": s1, "AUTH_SECRET_3": s3, "AUTH_SECRET_2": s2}, []string{s3, s2, s1}, nil},
		{"v5 none", FormatAuthJS, map[string]string{}, nil, nil},
		{"v5 empty", FormatAuthJS, map[string]string{"AUTH_SECRET": ""}, nil, nil},
		{"v5 weak", FormatAuthJS, map[string]string{"AUTH_SECRET": "short"}, nil, nil},
		{"v5 trailing newline", FormatAuthJS, map[string]string{"AUTH_SECRET": a + "\n"}, nil, nil},
		{"v4 NEXTAUTH_SECRET", FormatNextAuth4, map[string]string{"NEXTAUTH_SECRET": n, "AUTH_SECRET": a}, []string{n}, []string{"AUTH_SECRET"}},
		{"v4 AUTH_SECRET", FormatNextAuth4, map[string]string{"AUTH_SECRET": a, "AUTH_SECRET_1": s1}, []string{a}, []string{"AUTH_SECRET_1"}},
		{"v4 none", FormatNextAuth4, map[string]string{"AUTH_SECRET_1": s1}, nil, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := AuthJSSecretsFromLookup(tc.format, func(k string) (string, bool) { v, ok := tc.env[k]; return v, ok })
			if tc.want == nil {
				require.Error(t, err)
				for _, v := range tc.env {
					if v != "" {
						require.NotContains(t, err.Error(), v, "no secret in errors")
					}
				}
				return
			}
			require.NoError(t, err)
			require.Equal(t, len(tc.want), got.Len())
			for i, w := range tc.want {
				require.Equal(t, w, string(got.list[i].bytes()))
			}
			require.Len(t, got.Warnings(), len(tc.warn))
			for i, v := range tc.warn {
				require.True(t, strings.HasPrefix(got.Warnings()[i], v+" is set but ignored"), got.Warnings()[i])
			}
		})
	}
}

func TestAuthJSSecretsFile(t *testing.T) {
	s, err := ParseAuthJSSecretsFile("# newest first\r\n" + authjsSecret2 + "\r\n\n  # old\n" + authjsSecret1 + "\n")
	require.NoError(t, err)
	require.Equal(t, 2, s.Len())
	require.Equal(t, authjsSecret2, string(s.list[0].bytes()))
	require.Equal(t, "AuthJSSecrets[2 secrets]", s.String())
	for _, bad := range []string{"", "# only a comment\n", authjsSecret1 + " \n", authjsSecret1 + "\n" + authjsSecret1 + "\n", "short\n",
		strings.Repeat(authjsSecret1+"\n", 1) + authjsSecret2 + "\n" + authjsSecret3 + "\nauthjs-test-secret-4-abcdefghijklmnopqrstuv\nauthjs-test-secret-5-ABCDEFGHIJKLMNOPQRSTUV\n"} {
		_, err := ParseAuthJSSecretsFile(bad)
		require.Error(t, err, "%q", bad)
		require.NotContains(t, err.Error(), authjsSecret1)
	}
	_, err = ParseAuthJSSecretsFile("x\n" + authjsSecret1 + " \n")
	require.ErrorContains(t, err, "line 1")
}
