module github.com/jwtexp/jwtexp/core/redisstore

go 1.26.0

replace github.com/jwtexp/jwtexp => ../..

require (
	github.com/golang-jwt/jwt/v5 v5.3.1
	github.com/jwtexp/jwtexp v0.0.0-00010101000000-000000000000
	github.com/redis/go-redis/v9 v9.23.0
)

require (
	github.com/cespare/xxhash/v2 v2.3.0 // indirect
	github.com/go-json-experiment/json v0.0.0-20260213210345-44df1a37e875 // indirect
	go.uber.org/atomic v1.12.0 // indirect
	golang.org/x/sys v0.48.0 // indirect
)
