package hub

import (
	"context"

	"github.com/rubberduckhub/rubberduck/hub/ai/propose"
	"github.com/rubberduckhub/rubberduck/hub/auth"
	"github.com/rubberduckhub/rubberduck/lsp/protocol"
)

// Proposal handlers: the AI's suggested edits, reviewed hunk by hunk.
// Accepting applies the hunk to the live document (aiadapters.go), where it
// merges with what people are typing; a hunk whose lines changed meanwhile
// comes back as a conflict, never applied at a guessed place.

func (sess *session) resolveProposal(ctx context.Context, p protocol.ProposalResolveParams) (*propose.Proposal, error) {
	eng, err := sess.aiEngine(ctx, p.Project, auth.ActionWrite)
	if err != nil {
		return nil, err
	}
	if err := requireField("id", p.ID); err != nil {
		return nil, err
	}
	hunk := -1
	if p.Hunk != nil && *p.Hunk >= 0 {
		hunk = *p.Hunk
	}
	res, err := eng.ResolveProposal(ctx, p.Project, p.ID, hunk, p.Accept, sess.aiPerson())
	return res, aiError(err)
}

func (sess *session) listProposals(ctx context.Context, p protocol.ProjectParams) (map[string][]*propose.Proposal, error) {
	eng, err := sess.aiEngine(ctx, p.Project, auth.ActionRead)
	if err != nil {
		return nil, err
	}
	list, err := eng.Proposals().List(ctx, p.Project)
	if err != nil {
		return nil, aiError(err)
	}
	if list == nil {
		list = []*propose.Proposal{}
	}
	return map[string][]*propose.Proposal{"proposals": list}, nil
}
