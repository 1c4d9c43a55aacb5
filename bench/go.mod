module github.com/jwesession/jwesession/bench

go 1.26.0

require (
	github.com/alexedwards/scs/v2 v2.9.0
	github.com/go-jose/go-jose/v4 v4.1.8
	github.com/gorilla/securecookie v1.1.2
	github.com/gorilla/sessions v1.4.0
	github.com/jwesession/jwesession v0.0.0
	golang.org/x/crypto v0.58.0
)

replace github.com/jwesession/jwesession => ../
