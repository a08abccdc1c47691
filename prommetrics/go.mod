module github.com/jwtexp/jwtexp/prommetrics

go 1.26.0

replace github.com/jwtexp/jwtexp => ..

replace github.com/jwtexp/jwtexp/core/redisstore => ../core/redisstore

replace github.com/jwtexp/jwtexp/core/jwks => ../core/jwks

require (
	github.com/jwtexp/jwtexp v0.0.0-00010101000000-000000000000
	github.com/jwtexp/jwtexp/core/jwks v0.0.0-00010101000000-000000000000
	github.com/jwtexp/jwtexp/core/redisstore v0.0.0-00010101000000-000000000000
	github.com/prometheus/client_golang v1.25.0
	github.com/prometheus/client_model v0.6.3
	github.com/redis/go-redis/v9 v9.23.0
)

require (
	github.com/MicahParks/jwkset v0.11.4 // indirect
	github.com/MicahParks/keyfunc/v3 v3.9.1 // indirect
	github.com/beorn7/perks v1.0.1 // indirect
	github.com/cespare/xxhash/v2 v2.3.0 // indirect
	github.com/go-json-experiment/json v0.0.0-20260213210345-44df1a37e875 // indirect
	github.com/golang-jwt/jwt/v5 v5.3.1 // indirect
	github.com/kylelemons/godebug v1.1.0 // indirect
	github.com/munnerz/goautoneg v0.0.0-20191010083416-a7dc8b61c822 // indirect
	github.com/prometheus/common v0.72.0 // indirect
	github.com/prometheus/procfs v0.22.0 // indirect
	go.uber.org/atomic v1.12.0 // indirect
	golang.org/x/sys v0.48.0 // indirect
	golang.org/x/time v0.15.0 // indirect
	google.golang.org/protobuf v1.36.12 // indirect
)
