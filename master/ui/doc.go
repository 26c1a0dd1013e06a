// Package ui is the master's web UI: plain HTML, CSS and JavaScript
// embedded in the binary (hosts are often offline: no CDN, no build step),
// with uPlot (assets/vendor/uplot, from its npm package, MIT) for the
// charts. The master serves it at /ui/; the pages call the same HTTP API
// as the CLI with the bearer token the user enters, which the browser
// keeps for the session only (sessionStorage). See docs/ui.md.
package ui
