module github.com/jwtexp/jwtexp/core/jwks

go 1.25.0

replace github.com/jwtexp/jwtexp => ../..

require (
	github.com/MicahParks/jwkset v0.11.4
	github.com/MicahParks/keyfunc/v3 v3.9.1
	github.com/golang-jwt/jwt/v5 v5.3.1
	github.com/jwtexp/jwtexp v0.0.0-00010101000000-000000000000
	golang.org/x/time v0.15.0
)

require github.com/go-json-experiment/json v0.0.0-20260213210345-44df1a37e875 // indirect
