module github.com/jwtexp/jwtexp/examples

go 1.26.0

replace (
	github.com/jwtexp/jwtexp => ..
	github.com/jwtexp/jwtexp/core/jwks => ../core/jwks
	github.com/jwtexp/jwtexp/core/redisstore => ../core/redisstore
	github.com/jwtexp/jwtexp/echo5jwt => ../echo5jwt
	github.com/jwtexp/jwtexp/echojwt => ../echojwt
	github.com/jwtexp/jwtexp/fiber3jwt => ../fiber3jwt
	github.com/jwtexp/jwtexp/fiberjwt => ../fiberjwt
	github.com/jwtexp/jwtexp/ginjwt => ../ginjwt
	github.com/jwtexp/jwtexp/jwtclient => ../jwtclient
	github.com/jwtexp/jwtexp/otelmetrics => ../otelmetrics
	github.com/jwtexp/jwtexp/prommetrics => ../prommetrics
)

require (
	connectrpc.com/connect v1.21.1
	connectrpc.com/grpcreflect v1.3.1
	github.com/chromedp/cdproto v0.159.0
	github.com/chromedp/chromedp v0.23.0
	github.com/coder/websocket v1.8.14
	github.com/gin-gonic/gin v1.12.0
	github.com/gofiber/fiber/v2 v2.52.15
	github.com/gofiber/fiber/v3 v3.1.0
	github.com/jwtexp/jwtexp v0.0.0-00010101000000-000000000000
	github.com/jwtexp/jwtexp/connectjwt v0.0.0-00010101000000-000000000000
	github.com/jwtexp/jwtexp/core/jwks v0.0.0-00010101000000-000000000000
	github.com/jwtexp/jwtexp/core/redisstore v0.0.0-00010101000000-000000000000
	github.com/jwtexp/jwtexp/echo5jwt v0.0.0-00010101000000-000000000000
	github.com/jwtexp/jwtexp/echojwt v0.0.0-00010101000000-000000000000
	github.com/jwtexp/jwtexp/fiber3jwt v0.0.0-00010101000000-000000000000
	github.com/jwtexp/jwtexp/fiberjwt v0.0.0-00010101000000-000000000000
	github.com/jwtexp/jwtexp/ginjwt v0.0.0-00010101000000-000000000000
	github.com/jwtexp/jwtexp/grpcjwt v0.0.0-00010101000000-000000000000
	github.com/jwtexp/jwtexp/jwtclient v0.0.0-00010101000000-000000000000
	github.com/jwtexp/jwtexp/otelmetrics v0.0.0-00010101000000-000000000000
	github.com/jwtexp/jwtexp/prommetrics v0.0.0-00010101000000-000000000000
	github.com/jwtexp/jwtexp/rpcproto v0.0.0-00010101000000-000000000000
	github.com/labstack/echo/v4 v4.16.0
	github.com/labstack/echo/v5 v5.4.6
	github.com/modelcontextprotocol/go-sdk v1.8.0
	github.com/prometheus/client_golang v1.25.0
	github.com/redis/go-redis/v9 v9.23.0
	google.golang.org/grpc v1.85.0
	google.golang.org/protobuf v1.36.12
)

require (
	github.com/fasthttp/websocket v1.5.12 // indirect
	github.com/google/jsonschema-go v0.4.3 // indirect
	github.com/savsgio/gotils v0.0.0-20240704082632-aef3928b8a38 // indirect
	github.com/segmentio/asm v1.1.3 // indirect
	github.com/segmentio/encoding v0.5.4 // indirect
	github.com/yosida95/uritemplate/v3 v3.0.2 // indirect
	golang.org/x/oauth2 v0.37.0 // indirect
	golang.org/x/sync v0.23.0 // indirect
)

require (
	github.com/MicahParks/jwkset v0.11.4 // indirect
	github.com/MicahParks/keyfunc/v3 v3.9.1 // indirect
	github.com/andybalholm/brotli v1.2.1 // indirect
	github.com/beorn7/perks v1.0.1 // indirect
	github.com/bytedance/gopkg v0.1.3 // indirect
	github.com/bytedance/sonic v1.15.0 // indirect
	github.com/bytedance/sonic/loader v0.5.0 // indirect
	github.com/cespare/xxhash/v2 v2.3.0 // indirect
	github.com/cloudwego/base64x v0.1.6 // indirect
	github.com/gabriel-vasile/mimetype v1.4.12 // indirect
	github.com/gin-contrib/sse v1.1.0 // indirect
	github.com/go-json-experiment/json v0.0.0-20260213210345-44df1a37e875 // indirect
	github.com/go-logr/logr v1.4.4 // indirect
	github.com/go-logr/stdr v1.2.2 // indirect
	github.com/go-playground/locales v0.14.1 // indirect
	github.com/go-playground/universal-translator v0.18.1 // indirect
	github.com/go-playground/validator/v10 v10.30.1 // indirect
	github.com/goccy/go-json v0.10.5 // indirect
	github.com/goccy/go-yaml v1.19.2 // indirect
	github.com/gofiber/schema v1.7.0 // indirect
	github.com/gofiber/utils/v2 v2.0.2 // indirect
	github.com/golang-jwt/jwt/v5 v5.3.1 // indirect
	github.com/google/uuid v1.6.0 // indirect
	github.com/json-iterator/go v1.1.12 // indirect
	github.com/jwtexp/jwtexp/fastwsjwt v0.0.0-00010101000000-000000000000
	github.com/jwtexp/jwtexp/wsjwt v0.0.0-00010101000000-000000000000
	github.com/klauspost/compress v1.20.1 // indirect
	github.com/klauspost/cpuid/v2 v2.4.0 // indirect
	github.com/labstack/gommon v0.5.0 // indirect
	github.com/leodido/go-urn v1.4.0 // indirect
	github.com/mattn/go-colorable v0.1.15 // indirect
	github.com/mattn/go-isatty v0.0.22 // indirect
	github.com/mattn/go-runewidth v0.0.16 // indirect
	github.com/modern-go/concurrent v0.0.0-20180306012644-bacd9c7ef1dd // indirect
	github.com/modern-go/reflect2 v1.0.2 // indirect
	github.com/munnerz/goautoneg v0.0.0-20191010083416-a7dc8b61c822 // indirect
	github.com/pelletier/go-toml/v2 v2.2.4 // indirect
	github.com/philhofer/fwd v1.2.0 // indirect
	github.com/prometheus/client_model v0.6.3 // indirect
	github.com/prometheus/common v0.72.0 // indirect
	github.com/prometheus/procfs v0.22.0 // indirect
	github.com/quic-go/qpack v0.6.0 // indirect
	github.com/quic-go/quic-go v0.59.0 // indirect
	github.com/rivo/uniseg v0.2.0 // indirect
	github.com/tinylib/msgp v1.6.3 // indirect
	github.com/twitchyliquid64/golang-asm v0.15.1 // indirect
	github.com/ugorji/go/codec v1.3.1 // indirect
	github.com/valyala/bytebufferpool v1.0.0 // indirect
	github.com/valyala/fasthttp v1.70.0 // indirect
	github.com/valyala/fasttemplate v1.2.2 // indirect
	go.mongodb.org/mongo-driver/v2 v2.5.0 // indirect
	go.opentelemetry.io/auto/sdk v1.2.1 // indirect
	go.opentelemetry.io/otel v1.47.0 // indirect
	go.opentelemetry.io/otel/log v1.47.0 // indirect
	go.opentelemetry.io/otel/metric v1.47.0 // indirect
	go.opentelemetry.io/otel/trace v1.47.0 // indirect
	go.uber.org/atomic v1.12.0 // indirect
	golang.org/x/arch v0.22.0 // indirect
	golang.org/x/crypto v0.57.0 // indirect
	golang.org/x/net v0.60.0 // indirect
	golang.org/x/sys v0.48.0 // indirect
	golang.org/x/text v0.42.0 // indirect
	golang.org/x/time v0.15.0 // indirect
	google.golang.org/genproto/googleapis/rpc v0.0.0-20260817212433-ac3dfec99bb1 // indirect
)

replace github.com/jwtexp/jwtexp/grpcjwt => ../grpcjwt

replace github.com/jwtexp/jwtexp/connectjwt => ../connectjwt

replace github.com/jwtexp/jwtexp/rpcproto => ../rpcproto

replace github.com/jwtexp/jwtexp/wsjwt => ../wsjwt

replace github.com/jwtexp/jwtexp/fastwsjwt => ../fastwsjwt
