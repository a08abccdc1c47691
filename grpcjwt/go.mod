module github.com/jwtexp/jwtexp/grpcjwt

go 1.26.0

replace (
	github.com/jwtexp/jwtexp => ..
	github.com/jwtexp/jwtexp/rpcproto => ../rpcproto
)

require (
	github.com/jwtexp/jwtexp v0.0.0-00010101000000-000000000000
	github.com/jwtexp/jwtexp/rpcproto v0.0.0-00010101000000-000000000000
	google.golang.org/grpc v1.85.0
	google.golang.org/protobuf v1.36.12
)

require (
	github.com/go-json-experiment/json v0.0.0-20260213210345-44df1a37e875 // indirect
	github.com/golang-jwt/jwt/v5 v5.3.1 // indirect
	golang.org/x/net v0.60.0 // indirect
	golang.org/x/sys v0.48.0 // indirect
	golang.org/x/text v0.42.0 // indirect
	google.golang.org/genproto/googleapis/rpc v0.0.0-20260817212433-ac3dfec99bb1 // indirect
)
