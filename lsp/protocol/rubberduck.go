package protocol

// RubberDuck's own methods. Requests are rubberduck/...; notifications the
// hub pushes are $/rubberduck/... so LSP clients that do not know them can
// ignore them safely.
const (
	MethodPing         = "rubberduck/ping"
	MethodProjectJoin  = "rubberduck/project/join"
	MethodProjectLeave = "rubberduck/project/leave"
	MethodProjectList  = "rubberduck/project/list"
)

// PingResult answers rubberduck/ping: a no-op round trip clients use as a
// liveness check and the benchmarks use to measure the hub's overhead.
type PingResult struct {
	Time string `json:"time"` // RFC 3339 with nanoseconds, hub clock
}

// JoinParams asks to join a project's room on this connection.
type JoinParams struct {
	Project string `json:"project"`
}

// JoinResult confirms the join and says what the caller may do there.
type JoinResult struct {
	Project string `json:"project"`
	Role    string `json:"role"` // "owner" | "writer" | "reader"
}

// LeaveParams leaves a joined project.
type LeaveParams struct {
	Project string `json:"project"`
}

// ProjectInfo describes one project a caller can see.
type ProjectInfo struct {
	Name string `json:"name"`
	Role string `json:"role"`
}

// ProjectListResult lists the projects the caller is a member of.
type ProjectListResult struct {
	Projects []ProjectInfo `json:"projects"`
}

// ExperimentalCapabilities is sent as capabilities.experimental.rubberduck in
// the initialize result, so clients can check the protocol version and limits.
type ExperimentalCapabilities struct {
	ProtocolVersion string `json:"protocolVersion"`
	MaxMessageBytes int64  `json:"maxMessageBytes"`
}
