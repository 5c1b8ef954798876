//go:build race

package main

// raceEnabled says the tests run with -race, so binaries they build match
// (and reuse the packages go test already compiled).
const raceEnabled = true
