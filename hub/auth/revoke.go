package auth

// RevokeEvent tells the hub that access was taken away, so it can close the
// affected live connections at once. Empty fields match everything:
// {UserID} is a removed user, {UserID, TokenID} a revoked credential,
// {UserID, Project} a revoked or lowered role, {Project} a removed project.
type RevokeEvent struct {
	UserID string `json:"userId,omitempty"`
	// TokenID is a token or session ID (Principal.CredentialID).
	TokenID string `json:"tokenId,omitempty"`
	Project string `json:"project,omitempty"`
	// Reason is for logs; it holds no secret.
	Reason string `json:"reason"`
}

// Affects reports whether the event concerns a connection authenticated as
// p that is in project ("" if the connection has joined none). A
// connection in several projects is affected if Affects holds for any.
func (e RevokeEvent) Affects(p Principal, project string) bool {
	if e.UserID != "" && e.UserID != p.UserID {
		return false
	}
	if e.TokenID != "" && e.TokenID != p.CredentialID {
		return false
	}
	if e.Project != "" && e.Project != project {
		return false
	}
	return true
}

// OnRevoke registers fn to be called after every revocation and returns a
// function that unregisters it. fn runs synchronously on the goroutine that
// revoked, after the change is stored, so the hub learns of it within the
// call; fn must not block (hand off to the connection, don't wait for it)
// and may call back into the Service.
func (s *Service) OnRevoke(fn func(RevokeEvent)) (cancel func()) {
	s.subMu.Lock()
	defer s.subMu.Unlock()
	id := s.nextSub
	s.nextSub++
	s.subs[id] = fn
	return func() {
		s.subMu.Lock()
		defer s.subMu.Unlock()
		delete(s.subs, id)
	}
}

// publish delivers e to every subscriber. It must be called without s.mu
// held so subscribers may call back into the Service.
func (s *Service) publish(e RevokeEvent, kind string) {
	s.revocations.WithLabelValues(kind).Inc()
	s.subMu.RLock()
	fns := make([]func(RevokeEvent), 0, len(s.subs))
	for _, fn := range s.subs {
		fns = append(fns, fn)
	}
	s.subMu.RUnlock()
	for _, fn := range fns {
		fn(e)
	}
}
