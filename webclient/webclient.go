// Package webclient is jwtexp's browser client, served by every example at "/" and importable by
// any application (github.com/jwtexp/jwtexp/webclient, standard library only):
// a page with a login form, a button that calls GET /api/me five
// times in parallel, the access token's countdown, the session state and a log
// out button, driven by client.js, a small dependency-free ES module.
//
// The client keeps the access token in memory only, sends it as a Bearer
// token, refreshes once for all concurrent calls that got a 401 (single
// flight), retries each of them once, and shows the login view when the
// refresh is refused. By default it asks the server for the cookie transport
// of the refresh token (header "X-Refresh-Transport: cookie"), because a
// refresh token that page script can read is exposed to XSS; "/?transport=body"
// switches the page to the JSON body transport.
//
// Against a cookie-only server (core.WithCookieOnly) the client holds no token at all: a token
// response without tokens tells it so, and it sends no Authorization header. With "/?dpop=1"
// (AuthClient option dpop) the page binds its tokens to a non-extractable WebCrypto key kept in
// IndexedDB and signs a DPoP proof (RFC 9449) for every request, answering the server's
// DPoP-Nonce; a token copied out of the page is then worthless without the key.
//
// "Open live connections" opens GET /api/events (Server-Sent Events, read with
// fetch since EventSource cannot send the Bearer token: client.stream) and
// GET /api/ws (a WebSocket carrying the token as the "jwtexp.bearer"
// subprotocol and handed every refreshed token: client.socket). When the server
// ends them because the token expired, the page refreshes once and reconnects;
// when the token was revoked (logout elsewhere, "sign out other devices"), it
// goes to the login view.
//
// The files are embedded (FS), so an application needs no build step and no npm. Mount
// Handler on "/" (a catch-all route is fine: unknown paths get 404). The page
// expects the example's API on the same origin: POST /login, POST /refresh,
// POST /logout and GET /api/me.
package webclient

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/base64"
	"io/fs"
	"mime"
	"net/http"
	"path"
	"strings"
	"time"
)

//go:embed static
var embedded embed.FS

// FS holds the static files with index.html at its root, for frameworks that
// mount an fs.FS (for example Fiber's filesystem middleware). Prefer Handler
// where possible: it also sets the Content-Type, caching and security headers.
var FS fs.FS = mustSub(embedded, "static")

// ContentSecurityPolicy is the Content-Security-Policy that Handler sends with
// every file. The page has no inline script or style, so everything comes from
// its own origin; the page cannot be framed, and <base> is not allowed.
const ContentSecurityPolicy = "default-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"

type asset struct {
	name        string
	body        []byte
	contentType string
	etag        string
}

// assets maps a URL path ("/", "/client.js", ...) to its file.
var assets = mustLoad(FS)

// Handler serves the browser client: index.html at "/" and the other files at
// "/<name>" (client.js, app.js, style.css), for GET and HEAD only (other
// methods get 405, unknown paths 404). Every answer has a Content-Type with a
// charset, "Cache-Control: no-cache" (the browser revalidates, with an ETag, so
// an example restarted with a new build never runs a stale script),
// "X-Content-Type-Options: nosniff", "Referrer-Policy: no-referrer" and
// ContentSecurityPolicy. To serve it under a prefix, wrap it in
// http.StripPrefix.
func Handler() http.Handler {
	return http.HandlerFunc(serve)
}

func serve(w http.ResponseWriter, r *http.Request) {
	p := r.URL.Path
	if p == "" {
		p = "/"
	}
	a, ok := assets[p]
	if !ok {
		http.NotFound(w, r)
		return
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, http.StatusText(http.StatusMethodNotAllowed), http.StatusMethodNotAllowed)
		return
	}
	h := w.Header()
	h.Set("Content-Type", a.contentType)
	h.Set("Cache-Control", "no-cache")
	h.Set("ETag", a.etag)
	h.Set("Content-Security-Policy", ContentSecurityPolicy)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	http.ServeContent(w, r, a.name, time.Time{}, bytes.NewReader(a.body))
}

func mustSub(f fs.FS, dir string) fs.FS {
	sub, err := fs.Sub(f, dir)
	if err != nil {
		panic("webclient: " + err.Error()) // the embed directive guarantees the directory
	}
	return sub
}

func mustLoad(f fs.FS) map[string]asset {
	m := make(map[string]asset)
	err := fs.WalkDir(f, ".", func(name string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		body, err := fs.ReadFile(f, name)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(body)
		a := asset{
			name:        name,
			body:        body,
			contentType: contentType(name),
			etag:        `"` + base64.RawURLEncoding.EncodeToString(sum[:16]) + `"`,
		}
		urlPath := "/" + name
		if name == "index.html" {
			urlPath = "/"
		}
		m[urlPath] = a
		return nil
	})
	if err != nil {
		panic("webclient: " + err.Error()) // embedded files are always readable
	}
	return m
}

// contentType does not trust the system's MIME tables for the types the page
// depends on: a module script served with a wrong type does not run.
func contentType(name string) string {
	switch strings.ToLower(path.Ext(name)) {
	case ".html":
		return "text/html; charset=utf-8"
	case ".js", ".mjs":
		return "text/javascript; charset=utf-8"
	case ".css":
		return "text/css; charset=utf-8"
	case ".svg":
		return "image/svg+xml"
	}
	if t := mime.TypeByExtension(path.Ext(name)); t != "" {
		return t
	}
	return "application/octet-stream"
}
