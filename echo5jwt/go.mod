module github.com/jwtexp/jwtexp/echo5jwt

go 1.25.0

replace github.com/jwtexp/jwtexp => ..

require (
	github.com/coder/websocket v1.8.14
	github.com/jwtexp/jwtexp v0.0.0-00010101000000-000000000000
	github.com/labstack/echo/v5 v5.4.6
)

require (
	github.com/go-json-experiment/json v0.0.0-20260213210345-44df1a37e875 // indirect
	github.com/golang-jwt/jwt/v5 v5.3.1 // indirect
	github.com/jwtexp/jwtexp/wsjwt v0.0.0-00010101000000-000000000000
)

replace github.com/jwtexp/jwtexp/wsjwt => ../wsjwt
