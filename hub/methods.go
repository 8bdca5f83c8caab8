package hub

import "github.com/rubberduckhub/rubberduck/lsp/protocol"

// methodTable is the index of every method the hub serves on /lsp. Each
// entry points at a thin handler in the file of its subject.
func (s *Server) methodTable() map[string]method {
	return map[string]method{
		// lifecycle.go
		protocol.MethodInitialize:  {handle: handler((*session).initialize), beforeInit: true},
		protocol.MethodInitialized: {handle: handler((*session).initialized)},
		protocol.MethodShutdown:    {handle: handler((*session).shutdown)},
		protocol.MethodExit:        {beforeInit: true}, // handled by the lifecycle check
		protocol.MethodSetTrace:    {handle: handler((*session).setTrace)},
		protocol.MethodPing:        {handle: handler((*session).ping), beforeInit: true},

		// projects.go
		protocol.MethodProjectJoin:  {handle: handler((*session).joinProject)},
		protocol.MethodProjectLeave: {handle: handler((*session).leaveProject)},
		protocol.MethodProjectList:  {handle: handler((*session).listProjects)},
	}
}
