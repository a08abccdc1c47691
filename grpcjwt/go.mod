module github.com/jwtexp/jwtexp/grpcjwt

go 1.26.0

replace (
	github.com/jwtexp/jwtexp => ..
	github.com/jwtexp/jwtexp/rpcproto => ../rpcproto
)
