module github.com/jwtexp/jwtexp/connectjwt

go 1.26.0

replace (
	github.com/jwtexp/jwtexp => ..
	github.com/jwtexp/jwtexp/rpcproto => ../rpcproto
)
