package ginjwt_test

import (
	"testing"

	"github.com/gin-gonic/gin"

	"github.com/jwtexp/jwtexp/core"
	"github.com/jwtexp/jwtexp/ginjwt"
	"github.com/jwtexp/jwtexp/internal/testutil"
)

func TestJWKSHandler(t *testing.T) {
	testutil.RunJWKSSuite(t, func(t *testing.T, m *core.Manager) testutil.Doer {
		r := gin.New()
		r.GET(testutil.JWKSPath, ginjwt.JWKSHandler(m))
		return testutil.HandlerDoer(r)
	})
}
