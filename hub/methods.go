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
		protocol.MethodProjectJoin:    {handle: handler((*session).joinProject)},
		protocol.MethodProjectLeave:   {handle: handler((*session).leaveProject)},
		protocol.MethodProjectList:    {handle: handler((*session).listProjects)},
		protocol.MethodProjectAdd:     {handle: handler((*session).addProject)},
		protocol.MethodProjectShow:    {handle: handler((*session).showProject)},
		protocol.MethodProjectUpdate:  {handle: handler((*session).updateProject)},
		protocol.MethodProjectRemove:  {handle: handler((*session).removeProject)},
		protocol.MethodProjectGrant:   {handle: handler((*session).grant)},
		protocol.MethodProjectRevoke:  {handle: handler((*session).revokeRole)},
		protocol.MethodProjectMembers: {handle: handler((*session).members)},

		// codeactions.go
		"textDocument/codeAction":  {handle: handler((*session).codeActions)},
		"workspace/executeCommand": {handle: handler((*session).executeCommand), concurrent: true},

		// files.go
		protocol.MethodFilesStat:          {handle: handler((*session).statFile)},
		protocol.MethodFilesList:          {handle: handler((*session).listFiles)},
		protocol.MethodFilesRead:          {handle: handler((*session).readFile)},
		protocol.MethodFilesWrite:         {handle: handler((*session).writeFile)},
		protocol.MethodFilesCreate:        {handle: handler((*session).createFile)},
		protocol.MethodFilesMkdir:         {handle: handler((*session).mkdir)},
		protocol.MethodFilesRename:        {handle: handler((*session).renameFile)},
		protocol.MethodFilesDelete:        {handle: handler((*session).deleteFile)},
		protocol.MethodFilesTrash:         {handle: handler((*session).listTrash)},
		protocol.MethodFilesRestore:       {handle: handler((*session).restoreFile)},
		protocol.MethodFilesPurge:         {handle: handler((*session).purgeFile)},
		protocol.MethodFilesSearch:        {handle: handler((*session).searchFiles), concurrent: true},
		protocol.MethodFilesAuditSymlinks: {handle: handler((*session).auditSymlinks), concurrent: true},

		// people.go
		protocol.MethodWhoami:      {handle: handler((*session).whoami)},
		protocol.MethodUserAdd:     {handle: handler((*session).addUser)},
		protocol.MethodUserList:    {handle: handler((*session).listUsers)},
		protocol.MethodUserRemove:  {handle: handler((*session).removeUser)},
		protocol.MethodTokenCreate: {handle: handler((*session).createToken)},
		protocol.MethodLoginLink:   {handle: handler((*session).loginLink)},
		protocol.MethodTokenList:   {handle: handler((*session).listTokens)},
		protocol.MethodTokenRevoke: {handle: handler((*session).revokeToken)},

		// auditlog.go
		protocol.MethodAuditQuery: {handle: handler((*session).queryAudit), concurrent: true},

		// intel.go
		protocol.MethodIntelOutline:      {handle: handler((*session).intelOutline), concurrent: true},
		protocol.MethodIntelMetrics:      {handle: handler((*session).intelMetrics), concurrent: true},
		protocol.MethodIntelDefinition:   {handle: handler((*session).intelDefinition), concurrent: true},
		protocol.MethodIntelReferences:   {handle: handler((*session).intelReferences), concurrent: true},
		protocol.MethodIntelCalls:        {handle: handler((*session).intelCalls), concurrent: true},
		protocol.MethodIntelDependencies: {handle: handler((*session).intelDependencies), concurrent: true},
		protocol.MethodIntelSymbols:      {handle: handler((*session).intelSymbols), concurrent: true},
		protocol.MethodIntelRepoMap:      {handle: handler((*session).intelRepoMap), concurrent: true},
		protocol.MethodIntelStatus:       {handle: handler((*session).intelStatus), concurrent: true},
		"textDocument/hover":             {handle: lspTextDocument("textDocument/hover", false), concurrent: true},
		"textDocument/definition":        {handle: lspTextDocument("textDocument/definition", false), concurrent: true},
		"textDocument/references":        {handle: lspTextDocument("textDocument/references", false), concurrent: true},
		"textDocument/documentSymbol":    {handle: lspTextDocument("textDocument/documentSymbol", false), concurrent: true},
		"textDocument/completion":        {handle: completionWithAI(), concurrent: true}, // completion.go: language server + AI
		"textDocument/signatureHelp":     {handle: lspTextDocument("textDocument/signatureHelp", false), concurrent: true},
		"textDocument/prepareRename":     {handle: lspTextDocument("textDocument/prepareRename", true), concurrent: true},
		"textDocument/rename":            {handle: lspTextDocument("textDocument/rename", true), concurrent: true},

		// documents.go
		protocol.MethodDocSync:   {handle: handler((*session).docSync)},
		protocol.MethodDocUpdate: {handle: handler((*session).docUpdate)},
		protocol.MethodDocClose:  {handle: handler((*session).docClose)},
		protocol.MethodDocRead:   {handle: handler((*session).docRead)},
		protocol.MethodDocSave:   {handle: handler((*session).docSave)},
		protocol.MethodDocUndo:   {handle: handler((*session).docUndo)},
		protocol.MethodDidOpen:   {handle: handler((*session).didOpen)},
		protocol.MethodDidChange: {handle: handler((*session).didChange)},
		protocol.MethodDidClose:  {handle: handler((*session).didClose)},
		protocol.MethodDidSave:   {handle: handler((*session).didSave)},

		// chat.go, proposals.go, completion.go
		protocol.MethodChatSend:        {handle: handler((*session).chatSend)},
		protocol.MethodChatAction:      {handle: handler((*session).chatAction)},
		protocol.MethodChatCancel:      {handle: handler((*session).chatCancel)},
		protocol.MethodChatRegenerate:  {handle: handler((*session).chatRegenerate)},
		protocol.MethodChatFeedback:    {handle: handler((*session).chatFeedback)},
		protocol.MethodChatHistory:     {handle: handler((*session).chatHistory), concurrent: true},
		protocol.MethodProposalResolve: {handle: handler((*session).resolveProposal), concurrent: true},
		protocol.MethodProposalList:    {handle: handler((*session).listProposals), concurrent: true},
		protocol.MethodInlineCompl:     {handle: handler((*session).inlineCompletion), concurrent: true},
		protocol.MethodAIConfig:        {handle: handler((*session).aiConfig)},
		protocol.MethodAIUsage:         {handle: handler((*session).aiUsage), concurrent: true},

		// presence.go
		protocol.MethodFocus:  {handle: handler((*session).focus)},
		protocol.MethodCursor: {handle: handler((*session).cursor)},
	}
}
