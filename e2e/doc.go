// Package e2e holds jwesession's end-to-end tests: the demo behind a real
// caching proxy (nginx), driven by a real browser (Chromium), and the
// library under hundreds of concurrent clients. It is a separate module so
// that library users never download the browser driver.
package e2e
