//go:build race

package monitoring

const raceEnabled = true
