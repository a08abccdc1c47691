module github.com/jwtexp/jwtexp

go 1.25

require (
	github.com/go-json-experiment/json v0.0.0-20260213210345-44df1a37e875
	github.com/golang-jwt/jwt/v5 v5.3.1
)
