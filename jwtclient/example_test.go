package jwtclient_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"time"

	"github.com/jwtexp/jwtexp/jwtclient"
)

// The whole flow against a server with the jwtexp HTTP contract (here a stand-in started with
// httptest): log in, call the API through the client's *http.Client, log out.
func Example() {
	srv := startServer(newFakeClock(), 15*time.Minute)
	defer srv.Close()

	c, err := jwtclient.New(jwtclient.WithBaseURL(srv.URL))
	if err != nil {
		log.Fatal(err)
	}
	ctx := context.Background()
	if err := c.Login(ctx, "alice", "wonderland"); err != nil {
		log.Fatal(err)
	}
	api := c.HTTPClient() // adds "Authorization: Bearer", refreshes as needed
	resp, err := api.Get(srv.URL + "/api/me")
	if err != nil {
		log.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	fmt.Println(resp.StatusCode, string(body))

	if err := c.Logout(ctx); err != nil {
		log.Fatal(err)
	}
	_, err = api.Get(srv.URL + "/api/me")
	fmt.Println(errors.Is(err, jwtclient.ErrSessionEnded))
	// Output:
	// 200 {"sub":"alice"}
	// true
}

// Persist every new pair, and resume the session from it after a restart. With rotation the
// refresh token changes on every refresh: storing only the first one loses the session.
func ExampleWithOnTokens() {
	clock := newFakeClock()
	srv := startServer(clock, 15*time.Minute)
	defer srv.Close()

	var saved jwtclient.Token // a file or a keychain in a real program
	c, err := jwtclient.New(
		jwtclient.WithBaseURL(srv.URL),
		jwtclient.WithClock(clock.Now), // the example's fake clock; omit for time.Now
		jwtclient.WithOnTokens(func(t jwtclient.Token) { saved = t }),
	)
	if err != nil {
		log.Fatal(err)
	}
	if err := c.Login(context.Background(), "alice", "wonderland"); err != nil {
		log.Fatal(err)
	}
	first := saved.RefreshToken
	clock.Advance(15 * time.Minute) // the access token has expired: Token refreshes
	if _, err := c.Token(); err != nil {
		log.Fatal(err)
	}
	fmt.Println("refresh token rotated and saved:", saved.RefreshToken != first)

	// After a restart: start from the saved pair.
	restarted, err := jwtclient.New(jwtclient.WithBaseURL(srv.URL), jwtclient.WithClock(clock.Now),
		jwtclient.WithTokens(saved))
	if err != nil {
		log.Fatal(err)
	}
	resp, err := restarted.HTTPClient().Get(srv.URL + "/api/me")
	if err != nil {
		log.Fatal(err)
	}
	resp.Body.Close()
	fmt.Println("resumed:", resp.StatusCode)
	// Output:
	// refresh token rotated and saved: true
	// resumed: 200
}

// Token has the shape of oauth2.TokenSource's method, for code that wants the access token
// itself (a gRPC credential, a WebSocket dial).
func ExampleClient_Token() {
	srv := startServer(newFakeClock(), 15*time.Minute)
	defer srv.Close()

	c, err := jwtclient.New(jwtclient.WithBaseURL(srv.URL))
	if err != nil {
		log.Fatal(err)
	}
	if _, err := c.Token(); errors.Is(err, jwtclient.ErrNotLoggedIn) {
		fmt.Println("log in first")
	}
	if err := c.Login(context.Background(), "alice", "wonderland"); err != nil {
		log.Fatal(err)
	}
	tok, err := c.Token()
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(tok.TokenType, tok.AccessToken != "", tok.RefreshToken != "")
	// Output:
	// log in first
	// Bearer true true
}

// A refused refresh means the session is over (logged out elsewhere, expired, or its refresh
// token reused): every call then returns ErrSessionEnded at once, never a retry loop.
func ExampleErrSessionEnded() {
	clock := newFakeClock()
	srv := startServer(clock, 15*time.Minute)
	defer srv.Close()

	c, err := jwtclient.New(jwtclient.WithBaseURL(srv.URL), jwtclient.WithClock(clock.Now))
	if err != nil {
		log.Fatal(err)
	}
	if err := c.Login(context.Background(), "alice", "wonderland"); err != nil {
		log.Fatal(err)
	}
	srv.endSessions() // "log out everywhere" from another device
	_, err = c.HTTPClient().Get(srv.URL + "/api/me")
	var answer *jwtclient.ServerError
	if errors.Is(err, jwtclient.ErrSessionEnded) && errors.As(err, &answer) {
		fmt.Println("log in again:", answer.StatusCode, answer.Code)
	}
	// Output:
	// log in again: 400 invalid_grant
}
