//go:build race

package billing

// raceEnabled: the race detector's own memory faults in as the test runs.
const raceEnabled = true
