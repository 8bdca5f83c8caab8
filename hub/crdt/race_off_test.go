//go:build !race

package crdt

// raceEnabled trims the heaviest checks under -race; see race_on_test.go.
const raceEnabled = false
