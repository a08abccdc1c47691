// Package readme checks that the Go snippets of the repository's README.md compile against the
// packages as they are (readme_test.go).
package readme
