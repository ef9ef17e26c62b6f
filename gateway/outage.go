package gateway

import (
	"context"
	"log/slog"
)

// outageLog logs the failure of an operation a loop repeats once per
// outage, not once per attempt, and, when recovered is set, its recovery.
// Failures after ctx has ended are shutdown, not outages. Only one
// goroutine may use an outageLog.
type outageLog struct {
	log       *slog.Logger
	failed    string // Warn message of the first failure
	recovered string // Info message of the first success after it; "": none
	failing   bool
}

// note records the outcome of one attempt; err nil is a success.
func (o *outageLog) note(ctx context.Context, err error) {
	switch {
	case err != nil && !o.failing && ctx.Err() == nil:
		o.failing = true
		o.log.Warn(o.failed, "err", err)
	case err == nil && o.failing:
		o.failing = false
		if o.recovered != "" {
			o.log.Info(o.recovered)
		}
	}
}
