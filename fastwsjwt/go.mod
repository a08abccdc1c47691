module github.com/jwtexp/jwtexp/fastwsjwt

go 1.25

replace github.com/jwtexp/jwtexp => ..

require (
	github.com/fasthttp/websocket v1.5.12
	github.com/jwtexp/jwtexp v0.0.0-00010101000000-000000000000
	github.com/valyala/fasthttp v1.58.0
)

require (
	github.com/andybalholm/brotli v1.1.1 // indirect
	github.com/go-json-experiment/json v0.0.0-20260213210345-44df1a37e875 // indirect
	github.com/golang-jwt/jwt/v5 v5.3.1 // indirect
	github.com/klauspost/compress v1.17.11 // indirect
	github.com/savsgio/gotils v0.0.0-20240704082632-aef3928b8a38 // indirect
	github.com/valyala/bytebufferpool v1.0.0 // indirect
	golang.org/x/net v0.33.0 // indirect
)
