#!/usr/bin/env bash
# Regenerates the Go code of the protos in proto/ (jwtexp.auth.v1), with pinned plugins:
#
#	proto/generate.sh
#
# Needs protoc (Debian: apt-get install protobuf-compiler) and Go; the plugins are installed at
# the versions below into a temporary GOBIN. The output is committed; CI runs this and fails when
# it changes anything.
#   rpcproto/authv1/            messages and descriptors (google.golang.org/protobuf only)
#   grpcjwt/authv1grpc/         the gRPC stubs (protoc-gen-go-grpc)
#   connectjwt/authv1connect/   the Connect stubs (protoc-gen-connect-go)
#   examples/grpc/demo*.pb.go   jwtexp.example.v1 messages and gRPC stubs, in the example's package main
#   examples/connect/demo.pb.go jwtexp.example.v1 messages, in the example's package main (its handlers
#                               are written with connect.NewUnaryHandler: Connect stubs would need an
#                               importable message package, and the example must stay one directory)
set -euo pipefail
cd "$(dirname "$0")/.."

# protoc writes its version into the generated files: the committed code was made with Debian 12's
# protobuf-compiler.
PROTOC_VERSION=3.21.12
PROTOC_GEN_GO=google.golang.org/protobuf/cmd/protoc-gen-go@v1.36.12
PROTOC_GEN_GO_GRPC=google.golang.org/grpc/cmd/protoc-gen-go-grpc@v1.6.2
PROTOC_GEN_CONNECT_GO=connectrpc.com/connect/cmd/protoc-gen-connect-go@v1.21.1

if [ "$(protoc --version)" != "libprotoc $PROTOC_VERSION" ]; then
	echo "proto/generate.sh: need protoc $PROTOC_VERSION (Debian 12: apt-get install protobuf-compiler), found: $(protoc --version)" >&2
	echo "(another protoc makes the same code but another version line; change PROTOC_VERSION to adopt it)" >&2
	exit 1
fi

bin=$(mktemp -d)
out=$(mktemp -d)
trap 'rm -rf "$bin" "$out"' EXIT
for p in "$PROTOC_GEN_GO" "$PROTOC_GEN_GO_GRPC" "$PROTOC_GEN_CONNECT_GO"; do
	GOBIN=$bin GOWORK=off GOFLAGS=-mod=mod go install "$p"
done
export PATH="$bin:$PATH"

protos=(jwtexp/auth/v1/auth.proto jwtexp/auth/v1/auth_service.proto)
mod=github.com/jwtexp/jwtexp

# Messages and file descriptors: one package that needs only protobuf.
protoc -I proto --go_out="$out" --go_opt=module=$mod "${protos[@]}"
# gRPC stubs: auth_service.proto is mapped into grpcjwt's package, so the stubs import the messages
# from rpcproto/authv1 and the message package never imports grpc.
protoc -I proto --go-grpc_out="$out" --go-grpc_opt=module=$mod \
	--go-grpc_opt=Mjwtexp/auth/v1/auth_service.proto=$mod/grpcjwt/authv1grpc\;authv1grpc \
	jwtexp/auth/v1/auth_service.proto
# Connect stubs: generated beside the messages (authv1/authv1connect), then moved into connectjwt.
protoc -I proto --connect-go_out="$out" --connect-go_opt=module=$mod jwtexp/auth/v1/auth_service.proto

# The examples' DemoService: into each example's package main.
demo=jwtexp/example/v1/demo.proto
mkdir -p "$out/grpc" "$out/connect"
protoc -I proto --go_out="$out/grpc" --go_opt=paths=source_relative --go-grpc_out="$out/grpc" \
	--go-grpc_opt=paths=source_relative $demo
protoc -I proto --go_out="$out/connect" --go_opt=paths=source_relative $demo

rm -rf rpcproto/authv1/*.pb.go grpcjwt/authv1grpc connectjwt/authv1connect
mkdir -p rpcproto/authv1 grpcjwt/authv1grpc connectjwt/authv1connect
cp "$out"/rpcproto/authv1/*.pb.go rpcproto/authv1/
cp "$out"/grpcjwt/authv1grpc/*.go grpcjwt/authv1grpc/
cp "$out"/rpcproto/authv1/authv1connect/*.go connectjwt/authv1connect/
mkdir -p examples/grpc examples/connect
cp "$out"/grpc/jwtexp/example/v1/demo.pb.go "$out"/grpc/jwtexp/example/v1/demo_grpc.pb.go examples/grpc/
cp "$out"/connect/jwtexp/example/v1/demo.pb.go examples/connect/
