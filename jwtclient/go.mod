module github.com/jwtexp/jwtexp/jwtclient

go 1.22
