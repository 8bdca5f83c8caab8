package audit

import (
	"context"

	"github.com/rubberduckhub/rubberduck/sandbox"
)

// Sandbox returns the Log as a sandbox.Auditor, so the hub can pass it as
// sandbox.Options.Auditor and every file operation is recorded. File
// operations become actions "file.<op>" (file.read, file.write, ...).
func (l *Log) Sandbox() sandbox.Auditor { return sandboxAuditor{l} }

type sandboxAuditor struct{ l *Log }

// Record implements sandbox.Auditor. Failures are counted by the Log
// (rubberduck_audit_dropped_total); the sandbox has nobody to report to.
func (a sandboxAuditor) Record(ctx context.Context, ev sandbox.Event) {
	e := Entry{
		Time: ev.Time, Actor: ev.Actor, Action: "file." + ev.Op, Project: ev.Project,
		Target: ev.Path, To: ev.To, Detail: ev.Detail, Outcome: OutcomeOK,
	}
	switch code := sandbox.Code(ev.Outcome); code {
	case "", "ok":
	case sandbox.Denied, sandbox.ReadOnly, sandbox.Disabled:
		e.Outcome = OutcomeDenied
		e.Detail = join(string(code), ev.Detail)
	default:
		e.Outcome = OutcomeError
		e.Detail = join(string(code), ev.Detail)
	}
	_ = a.l.Record(ctx, e)
}

func join(code, detail string) string {
	if detail == "" {
		return code
	}
	return code + ": " + detail
}
