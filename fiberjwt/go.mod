module github.com/jwtexp/jwtexp/fiberjwt

go 1.26.0

replace github.com/jwtexp/jwtexp => ..

require (
	github.com/fasthttp/websocket v1.5.12
	github.com/gofiber/fiber/v2 v2.52.15
	github.com/jwtexp/jwtexp v0.0.0-00010101000000-000000000000
	github.com/valyala/fasthttp v1.70.0
)

require (
	github.com/savsgio/gotils v0.0.0-20240704082632-aef3928b8a38 // indirect
	golang.org/x/net v0.50.0 // indirect
)

require (
	github.com/andybalholm/brotli v1.2.1 // indirect
	github.com/go-json-experiment/json v0.0.0-20260213210345-44df1a37e875 // indirect
	github.com/golang-jwt/jwt/v5 v5.3.1 // indirect
	github.com/google/uuid v1.6.0 // indirect
	github.com/jwtexp/jwtexp/fastwsjwt v0.0.0-00010101000000-000000000000
	github.com/klauspost/compress v1.18.5 // indirect
	github.com/mattn/go-colorable v0.1.15 // indirect
	github.com/mattn/go-isatty v0.0.22 // indirect
	github.com/mattn/go-runewidth v0.0.16 // indirect
	github.com/rivo/uniseg v0.2.0 // indirect
	github.com/valyala/bytebufferpool v1.0.0 // indirect
	golang.org/x/sys v0.48.0 // indirect
)

replace github.com/jwtexp/jwtexp/fastwsjwt => ../fastwsjwt
