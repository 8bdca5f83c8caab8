//go:build race

package crdt

// raceEnabled trims the heaviest checks under -race (about 10x slower),
// which would otherwise dominate the project's test time; the plain run and
// the benchmarks still cover them in full.
const raceEnabled = true
