module github.com/jwtexp/jwtexp/benchmarks

go 1.26.0

replace (
	github.com/jwtexp/jwtexp => ..
	github.com/jwtexp/jwtexp/echo5jwt => ../echo5jwt
	github.com/jwtexp/jwtexp/echojwt => ../echojwt
	github.com/jwtexp/jwtexp/fiber3jwt => ../fiber3jwt
	github.com/jwtexp/jwtexp/fiberjwt => ../fiberjwt
	github.com/jwtexp/jwtexp/ginjwt => ../ginjwt
	github.com/jwtexp/jwtexp/grpcjwt => ../grpcjwt
	github.com/jwtexp/jwtexp/rpcproto => ../rpcproto
)

require (
	github.com/appleboy/gin-jwt/v2 v2.10.3
	github.com/auth0/go-jwt-middleware/v3 v3.1.0
	github.com/gin-gonic/gin v1.12.0
	github.com/go-chi/jwtauth/v5 v5.3.3
	github.com/gofiber/contrib/jwt v1.1.2
	github.com/gofiber/contrib/v3/jwt v1.1.2
	github.com/gofiber/fiber/v2 v2.52.15
	github.com/gofiber/fiber/v3 v3.1.0
	github.com/golang-jwt/jwt/v4 v4.5.2
	github.com/golang-jwt/jwt/v5 v5.3.1
	github.com/grpc-ecosystem/go-grpc-middleware/v2 v2.3.4
	github.com/jwtexp/jwtexp v0.0.0-00010101000000-000000000000
	github.com/jwtexp/jwtexp/echo5jwt v0.0.0-00010101000000-000000000000
	github.com/jwtexp/jwtexp/echojwt v0.0.0-00010101000000-000000000000
	github.com/jwtexp/jwtexp/fiber3jwt v0.0.0-00010101000000-000000000000
	github.com/jwtexp/jwtexp/fiberjwt v0.0.0-00010101000000-000000000000
	github.com/jwtexp/jwtexp/ginjwt v0.0.0-00010101000000-000000000000
	github.com/jwtexp/jwtexp/grpcjwt v0.0.0-00010101000000-000000000000
	github.com/labstack/echo-jwt/v4 v4.4.0
	github.com/labstack/echo-jwt/v5 v5.0.1
	github.com/labstack/echo/v4 v4.16.0
	github.com/labstack/echo/v5 v5.4.6
	github.com/lestrrat-go/jwx/v2 v2.1.3
	github.com/valyala/fasthttp v1.70.0
	google.golang.org/grpc v1.85.0
	google.golang.org/protobuf v1.36.12
)

require (
	github.com/MicahParks/keyfunc/v2 v2.1.0 // indirect
	github.com/andybalholm/brotli v1.2.1 // indirect
	github.com/bytedance/gopkg v0.1.3 // indirect
	github.com/bytedance/sonic v1.15.0 // indirect
	github.com/bytedance/sonic/loader v0.5.0 // indirect
	github.com/cloudwego/base64x v0.1.6 // indirect
	github.com/decred/dcrd/dcrec/secp256k1/v4 v4.4.0 // indirect
	github.com/gabriel-vasile/mimetype v1.4.12 // indirect
	github.com/gin-contrib/sse v1.1.0 // indirect
	github.com/go-json-experiment/json v0.0.0-20260213210345-44df1a37e875 // indirect
	github.com/go-playground/locales v0.14.1 // indirect
	github.com/go-playground/universal-translator v0.18.1 // indirect
	github.com/go-playground/validator/v10 v10.30.1 // indirect
	github.com/goccy/go-json v0.10.5 // indirect
	github.com/goccy/go-yaml v1.19.2 // indirect
	github.com/gofiber/schema v1.7.1 // indirect
	github.com/gofiber/utils/v2 v2.0.3 // indirect
	github.com/google/uuid v1.6.0 // indirect
	github.com/json-iterator/go v1.1.12 // indirect
	github.com/jwtexp/jwtexp/rpcproto v0.0.0-00010101000000-000000000000 // indirect
	github.com/klauspost/compress v1.18.5 // indirect
	github.com/klauspost/cpuid/v2 v2.4.0 // indirect
	github.com/labstack/gommon v0.5.0 // indirect
	github.com/leodido/go-urn v1.4.0 // indirect
	github.com/lestrrat-go/blackmagic v1.0.4 // indirect
	github.com/lestrrat-go/dsig v1.0.0 // indirect
	github.com/lestrrat-go/dsig-secp256k1 v1.0.0 // indirect
	github.com/lestrrat-go/httpcc v1.0.1 // indirect
	github.com/lestrrat-go/httprc v1.0.6 // indirect
	github.com/lestrrat-go/httprc/v3 v3.0.3 // indirect
	github.com/lestrrat-go/iter v1.0.2 // indirect
	github.com/lestrrat-go/jwx/v3 v3.0.13 // indirect
	github.com/lestrrat-go/option v1.0.1 // indirect
	github.com/lestrrat-go/option/v2 v2.0.0 // indirect
	github.com/mattn/go-colorable v0.1.15 // indirect
	github.com/mattn/go-isatty v0.0.22 // indirect
	github.com/mattn/go-runewidth v0.0.16 // indirect
	github.com/modern-go/concurrent v0.0.0-20180306012644-bacd9c7ef1dd // indirect
	github.com/modern-go/reflect2 v1.0.2 // indirect
	github.com/pelletier/go-toml/v2 v2.2.4 // indirect
	github.com/philhofer/fwd v1.2.0 // indirect
	github.com/quic-go/qpack v0.6.0 // indirect
	github.com/quic-go/quic-go v0.59.0 // indirect
	github.com/rivo/uniseg v0.2.0 // indirect
	github.com/segmentio/asm v1.2.1 // indirect
	github.com/tinylib/msgp v1.6.4 // indirect
	github.com/twitchyliquid64/golang-asm v0.15.1 // indirect
	github.com/ugorji/go/codec v1.3.1 // indirect
	github.com/valyala/bytebufferpool v1.0.0 // indirect
	github.com/valyala/fastjson v1.6.7 // indirect
	github.com/valyala/fasttemplate v1.2.2 // indirect
	github.com/youmark/pkcs8 v0.0.0-20240726163527-a2c0da244d78 // indirect
	go.mongodb.org/mongo-driver/v2 v2.5.0 // indirect
	go.yaml.in/yaml/v3 v3.0.5 // indirect
	golang.org/x/arch v0.22.0 // indirect
	golang.org/x/crypto v0.57.0 // indirect
	golang.org/x/net v0.60.0 // indirect
	golang.org/x/sys v0.48.0 // indirect
	golang.org/x/text v0.42.0 // indirect
	golang.org/x/time v0.15.0 // indirect
	google.golang.org/genproto/googleapis/rpc v0.0.0-20260817212433-ac3dfec99bb1 // indirect
)
