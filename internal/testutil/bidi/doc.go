// Package bidi drives a headless Firefox over WebDriver BiDi for the web
// UI's tests: it starts the browser on a profile of its own, connects to
// the WebSocket the browser opens, and sends commands and hands on events
// as the protocol (https://w3c.github.io/webdriver-bidi/) defines them.
//
// It is a test-support package, kept small on purpose: a command is a
// method name and its parameters, answered by id; events go to one
// callback. Firefox speaks the protocol natively (no geckodriver), so the
// only dependency is a WebSocket client. The browser listens on a port of
// the system's choosing on loopback, which it prints and Start reads, so
// parallel runs never meet on a port.
package bidi
