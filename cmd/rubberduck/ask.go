package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"sync"
	"time"

	"github.com/sourcegraph/conc"
	"github.com/spf13/cobra"

	"github.com/rubberduckhub/rubberduck/lsp/protocol"
	"github.com/rubberduckhub/rubberduck/lsp/wsrpc"
)

func newAskCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "ask [--project P] [--file F] QUESTION",
		Short: "Ask the project's AI a question and stream the answer",
		Long: `rubberduck ask posts a question to the project's shared AI conversation and
prints the answer as it streams. Everyone joined to the project sees the
question and the answer too. Ctrl-C stops the answer (for everyone).

The question may be a slash command (/help, /explain, /fix, /search TEXT,
/model) and may mention context: @file:PATH, @symbol:NAME, @problems.
With --file the file is the question's context, as if open in an editor.`,
		Example: `  rubberduck ask "what does the sandbox guard against?"
  rubberduck ask --file hub/rooms.go "/explain"
  rubberduck ask --project web "/search TODO"`,
		Args: cobra.MinimumNArgs(1),
		RunE: runAsk,
	}
	addClientFlags(cmd)
	cmd.Flags().String("project", "", "project to ask in (default: your only project)")
	cmd.Flags().String("file", "", "project-relative file the question is about")
	return cmd
}

func newChatCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "chat [--project P]",
		Short: "Talk with the project's AI (and the people in the room) in the terminal",
		Long: `rubberduck chat joins the project's shared conversation: each line you type
is sent to the AI and its answer streams back; what other people ask and the
answers they get appear too. Slash commands pass through (/help lists them).
Ctrl-C stops an answer in progress; Ctrl-D or /quit leaves.`,
		Args: cobra.NoArgs,
		RunE: runChat,
	}
	addClientFlags(cmd)
	cmd.Flags().String("project", "", "project to chat in (default: your only project)")
	return cmd
}

// chatConn is a CLI connection that follows a project's conversation.
type chatConn struct {
	*wsrpc.Client
	project string
	me      string

	mu     sync.Mutex
	queue  []*protocol.Message
	signal chan struct{}
}

// dialChat connects, initializes and joins the project (the only one the
// person has when --project is not given).
func dialChat(cmd *cobra.Command) (*chatConn, error) {
	cc := &chatConn{signal: make(chan struct{}, 1)}
	hc, err := dialHubWith(cmd, wsrpc.HandlerFunc(cc.handle))
	if err != nil {
		return nil, err
	}
	c := hc.Client
	cc.Client = c
	ctx, cancel := context.WithTimeout(context.WithoutCancel(cmd.Context()), 15*time.Second)
	defer cancel()
	var who struct {
		Name string `json:"name"`
	}
	if err := c.Call(ctx, protocol.MethodWhoami, struct{}{}, &who); err == nil {
		cc.me = who.Name
	}
	project, _ := cmd.Flags().GetString("project")
	if project == "" {
		var list protocol.ProjectListResult
		if err := c.Call(ctx, protocol.MethodProjectList, struct{}{}, &list); err != nil {
			c.Close()
			return nil, friendly(err)
		}
		switch len(list.Projects) {
		case 1:
			project = list.Projects[0].Name
		case 0:
			c.Close()
			return nil, errors.New("you are not a member of any project on this hub")
		default:
			names := make([]string, 0, len(list.Projects))
			for _, p := range list.Projects {
				names = append(names, p.Name)
			}
			c.Close()
			return nil, fmt.Errorf("you have %d projects (%s): choose one with --project", len(names), strings.Join(names, ", "))
		}
	}
	if err := c.Call(ctx, protocol.MethodProjectJoin, protocol.JoinParams{Project: project}, nil); err != nil {
		c.Close()
		return nil, friendly(err)
	}
	cc.project = project
	return cc, nil
}

// handle queues the hub's notifications; the command reads them in order.
func (cc *chatConn) handle(_ context.Context, _ *wsrpc.Conn, m *protocol.Message) (any, error) {
	switch m.Method {
	case protocol.MethodChatDelta, protocol.MethodChatMessage, protocol.MethodChatTool:
		cc.mu.Lock()
		cc.queue = append(cc.queue, m)
		cc.mu.Unlock()
		select {
		case cc.signal <- struct{}{}:
		default:
		}
	}
	return nil, nil
}

func (cc *chatConn) next() []*protocol.Message {
	cc.mu.Lock()
	defer cc.mu.Unlock()
	q := cc.queue
	cc.queue = nil
	return q
}

// stream prints the answer replyID as it arrives and returns it once it
// has ended. interrupt, when it fires, cancels the answer for everyone.
// Other people's finished messages are printed by others (chat mode).
func (cc *chatConn) stream(out, errOut io.Writer, replyID string, interrupt <-chan struct{}, others func(protocol.ChatMessage)) (protocol.ChatMessage, error) {
	printed := ""
	cancelled := false
	for {
		for _, m := range cc.next() {
			switch m.Method {
			case protocol.MethodChatDelta:
				var d protocol.ChatDeltaParams
				if json.Unmarshal(m.Params, &d) == nil && d.MessageID == replyID {
					fmt.Fprint(out, d.Text)
					printed += d.Text
				}
			case protocol.MethodChatTool:
				var p protocol.ChatToolParams
				if json.Unmarshal(m.Params, &p) == nil && p.MessageID == replyID && p.Part.Status == "running" {
					fmt.Fprintf(errOut, "[%s]\n", strings.TrimSpace(p.Part.Name+" "+p.Part.Summary))
				}
			case protocol.MethodChatMessage:
				var p protocol.ChatMessageParams
				if json.Unmarshal(m.Params, &p) != nil {
					continue
				}
				msg := p.Message
				if msg.ID != replyID {
					if others != nil {
						others(msg)
					}
					continue
				}
				if msg.Status == protocol.ChatStreaming {
					continue
				}
				// The final message holds the whole text; print what the
				// deltas did not (a local command has no deltas).
				if rest, ok := strings.CutPrefix(msg.Text, printed); ok && msg.Status != protocol.ChatError {
					fmt.Fprint(out, rest)
					printed = msg.Text
				}
				if printed != "" && !strings.HasSuffix(printed, "\n") {
					fmt.Fprintln(out)
				}
				return msg, nil
			}
		}
		select {
		case <-cc.signal:
		case <-interrupt:
			if !cancelled {
				cancelled = true
				interrupt = nil
				ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
				err := cc.Call(ctx, protocol.MethodChatCancel, protocol.ChatRefParams{Project: cc.project, MessageID: replyID}, nil)
				cancel()
				if err != nil {
					return protocol.ChatMessage{}, friendly(err)
				}
			}
		case <-cc.Done():
			return protocol.ChatMessage{}, errors.New("the connection to the hub was lost")
		}
	}
}

// ask sends text and streams its answer.
func (cc *chatConn) ask(ctx context.Context, out, errOut io.Writer, text string, ed *protocol.ChatEditor, interrupt <-chan struct{}, others func(protocol.ChatMessage)) (protocol.ChatMessage, error) {
	var res protocol.ChatSendResult
	if err := cc.Call(ctx, protocol.MethodChatSend, protocol.ChatSendParams{Project: cc.project, Text: text, Editor: ed}, &res); err != nil {
		return protocol.ChatMessage{}, friendly(err)
	}
	if res.ReplyID == "" {
		return protocol.ChatMessage{Status: protocol.ChatDone}, nil
	}
	return cc.stream(out, errOut, res.ReplyID, interrupt, others)
}

// answerError turns an answer that did not finish into the command's error.
func answerError(m protocol.ChatMessage) error {
	switch m.Status {
	case protocol.ChatError:
		return errors.New(m.Error)
	case protocol.ChatCancelled:
		return errors.New("the answer was stopped")
	}
	return nil
}

func runAsk(cmd *cobra.Command, args []string) error {
	cc, err := dialChat(cmd)
	if err != nil {
		return err
	}
	defer cc.Close()
	var ed *protocol.ChatEditor
	if f, _ := cmd.Flags().GetString("file"); f != "" {
		ed = &protocol.ChatEditor{Path: strings.TrimPrefix(f, "./")}
	}
	// Ctrl-C (the command's context ends) stops the answer for everyone.
	interrupt := make(chan struct{})
	stop := context.AfterFunc(cmd.Context(), func() { close(interrupt) })
	defer stop()
	ctx, cancel := context.WithTimeout(context.WithoutCancel(cmd.Context()), 30*time.Second)
	defer cancel()
	m, err := cc.ask(ctx, cmd.OutOrStdout(), cmd.ErrOrStderr(), strings.Join(args, " "), ed, interrupt, nil)
	if err != nil {
		return err
	}
	return answerError(m)
}

func runChat(cmd *cobra.Command, _ []string) error {
	cc, err := dialChat(cmd)
	if err != nil {
		return err
	}
	defer cc.Close()
	out, errOut := cmd.OutOrStdout(), cmd.ErrOrStderr()
	// Ctrl-C stops the answer in progress instead of ending the session.
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, os.Interrupt)
	defer signal.Stop(sigs)
	interrupt := make(chan struct{}, 1)
	done := make(chan struct{})
	var wg conc.WaitGroup
	defer wg.Wait()
	defer close(done)
	wg.Go(func() {
		for {
			select {
			case <-sigs:
				select {
				case interrupt <- struct{}{}:
				default:
				}
			case <-done:
				return
			}
		}
	})
	others := func(m protocol.ChatMessage) {
		if m.Status == protocol.ChatStreaming || (m.Role == protocol.ChatRoleUser && m.Author == cc.me) {
			return
		}
		who := m.Author
		if m.Role == protocol.ChatRoleAssistant && m.AskedBy != "" {
			who += " → " + m.AskedBy
		}
		fmt.Fprintf(out, "\n[%s] %s\n", who, strings.TrimSpace(m.Text))
	}
	fmt.Fprintf(errOut, "Chatting in %s as %s. /help lists commands; Ctrl-C stops an answer, Ctrl-D leaves.\n", cc.project, cc.me)
	lines := make(chan string)
	readErr := make(chan error, 1)
	// The reader blocks in Read, which nothing can interrupt portably; it
	// is the one goroutine that ends with the process rather than before.
	go func() {
		sc := bufio.NewScanner(cmd.InOrStdin())
		sc.Buffer(make([]byte, 64<<10), 64<<10)
		for sc.Scan() {
			select {
			case lines <- sc.Text():
			case <-done:
				return
			}
		}
		readErr <- sc.Err()
		close(lines)
	}()
	for {
		fmt.Fprint(errOut, "> ")
		var line string
		var ok bool
	wait:
		for {
			select {
			case line, ok = <-lines:
				break wait
			case <-cc.signal:
				for _, m := range cc.next() {
					var p protocol.ChatMessageParams
					if m.Method == protocol.MethodChatMessage && json.Unmarshal(m.Params, &p) == nil {
						others(p.Message)
					}
				}
			case <-interrupt:
				fmt.Fprintln(errOut)
				return nil
			case <-cc.Done():
				return errors.New("the connection to the hub was lost")
			}
		}
		if !ok {
			fmt.Fprintln(errOut)
			return <-readErr
		}
		line = strings.TrimSpace(line)
		switch line {
		case "":
			continue
		case "/quit", "/exit":
			return nil
		}
		select { // a Ctrl-C typed at the prompt must not cancel this answer
		case <-interrupt:
		default:
		}
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		m, err := cc.ask(ctx, out, errOut, line, nil, interrupt, others)
		cancel()
		if err != nil {
			fmt.Fprintln(errOut, "rubberduck:", err)
			continue
		}
		if err := answerError(m); err != nil {
			fmt.Fprintln(errOut, "rubberduck:", err)
		}
	}
}
