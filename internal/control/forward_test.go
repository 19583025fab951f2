package control

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/evercast/evercast"
)

func TestForward(t *testing.T) {
	ts := newTestServer(t, HubOptions{ForwardTimeout: 300 * time.Millisecond}, HandlerOptions{})

	if _, err := ts.hub.Forward(t.Context(), "ses_a1", Command{Name: CmdSkip}); !errors.Is(err, ErrUnavailable) {
		t.Fatalf("no executor: %v, want ErrUnavailable", err)
	}
	if ts.hub.HasExecutor("ses_a1") {
		t.Fatal("HasExecutor with none connected")
	}

	release := make(chan struct{})
	p := ts.dialClient(t, tokPlayout, ClientOptions{})
	err := p.ServeCommands(t.Context(), func(ctx context.Context, sessionID string, c Command) (map[string]any, error) {
		switch {
		case c.Name == CmdSkip:
			return map[string]any{"skipped": "clp_1", "session": sessionID}, nil
		case c.Name == CmdStandby && sessionID == "ses_gone":
			return nil, fmt.Errorf("no channel: %w", evercast.ErrNotFound)
		case c.Name == CmdStandby:
			return nil, fmt.Errorf("already on standby: %w", evercast.ErrConflict)
		case c.Name == CmdSay:
			<-release // never answers in time
			return nil, nil
		}
		return nil, errors.New("boom")
	})
	if err != nil {
		t.Fatal(err)
	}
	if !ts.hub.HasExecutor("ses_any") {
		t.Fatal("HasExecutor false after ServeCommands")
	}

	tests := []struct {
		name    string
		session string
		cmd     Command
		want    map[string]any
		is      error
		code    string
	}{
		{name: "result", session: "ses_a1", cmd: Command{Name: CmdSkip},
			want: map[string]any{"skipped": "clp_1", "session": "ses_a1"}},
		{name: "not found", session: "ses_gone", cmd: Command{Name: CmdStandby}, is: evercast.ErrNotFound, code: CodeNotFound},
		{name: "conflict", session: "ses_a1", cmd: Command{Name: CmdStandby}, is: evercast.ErrConflict, code: CodeConflict},
		{name: "internal", session: "ses_a1", cmd: Command{Name: CmdCut}, code: CodeInternal},
		{name: "timeout", session: "ses_a1", cmd: Command{Name: CmdSay, Args: CommandArgs{Text: "hi"}}, is: ErrTimeout},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := ts.hub.Forward(t.Context(), tt.session, tt.cmd)
			if tt.want != nil {
				if err != nil {
					t.Fatal(err)
				}
				if fmt.Sprint(res) != fmt.Sprint(tt.want) {
					t.Fatalf("result %v, want %v", res, tt.want)
				}
				return
			}
			if tt.is != nil && !errors.Is(err, tt.is) {
				t.Fatalf("got %v, want %v", err, tt.is)
			}
			var pe *Error
			if tt.code != "" && (!errors.As(err, &pe) || pe.Code != tt.code) {
				t.Fatalf("got %v, want code %s", err, tt.code)
			}
		})
	}
	close(release)

	// The executor disconnects while a command waits: Forward learns at once.
	hold := make(chan struct{})
	p2 := ts.dialClient(t, tokPlayout, ClientOptions{})
	if err := p2.ServeCommands(t.Context(), func(context.Context, string, Command) (map[string]any, error) {
		<-hold
		return nil, nil
	}); err != nil {
		t.Fatal(err)
	}
	defer close(hold)
	done := make(chan error, 1)
	go func() {
		_, err := ts.hub.Forward(context.Background(), "ses_a1", Command{Name: CmdSkip}) // the latest executor takes it
		done <- err
	}()
	time.Sleep(50 * time.Millisecond)
	go p2.Close()
	select {
	case err := <-done:
		if !errors.Is(err, ErrUnavailable) {
			t.Fatalf("executor gone: %v, want ErrUnavailable", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Forward did not notice the executor leave")
	}

	// Only playout connections may execute.
	op := ts.dialClient(t, tokOperator, ClientOptions{})
	if err := op.ServeCommands(t.Context(), func(context.Context, string, Command) (map[string]any, error) { return nil, nil }); !errors.Is(err, ErrForbidden) {
		t.Fatalf("operator as executor: %v, want forbidden", err)
	}
}

// The integrator's Commander forwards skip to a remote playout: a console's
// command travels console → hub → Commander → Forward → playout and back.
func TestCommandThroughForward(t *testing.T) {
	var hub *Hub
	cmdr := commanderFunc(func(ctx context.Context, p Principal, sessionID string, c Command) (map[string]any, error) {
		return hub.Forward(ctx, sessionID, c)
	})
	ts := newTestServer(t, HubOptions{}, HandlerOptions{Commands: cmdr})
	hub = ts.hub
	p := ts.dialClient(t, tokPlayout, ClientOptions{Reconnect: true, MinBackoff: 20 * time.Millisecond})
	if err := p.ServeCommands(t.Context(), func(_ context.Context, sessionID string, c Command) (map[string]any, error) {
		return map[string]any{"executed": c.Name + "@" + sessionID}, nil
	}); err != nil {
		t.Fatal(err)
	}
	console := ts.dialClient(t, tokOperator, ClientOptions{})
	res, err := console.Command(t.Context(), "ses_a1", Command{Name: CmdSkip})
	if err != nil || res["executed"] != "skip@ses_a1" {
		t.Fatalf("got %v, %v", res, err)
	}

	// The executor registration survives a reconnection.
	ts.hub.dropConnections()
	waitFor(t, "playout to re-register", 5*time.Second, func() bool { return ts.hub.connections() == 1 && ts.hub.HasExecutor("ses_a1") })
	console = ts.dialClient(t, tokOperator, ClientOptions{})
	res, err = console.Command(t.Context(), "ses_a1", Command{Name: CmdStandby})
	if err != nil || res["executed"] != "standby@ses_a1" {
		t.Fatalf("after reconnecting: %v, %v", res, err)
	}
}

func TestClientCommandLostConnection(t *testing.T) {
	block := make(chan struct{})
	defer close(block)
	cmdr := commanderFunc(func(ctx context.Context, _ Principal, _ string, _ Command) (map[string]any, error) {
		select {
		case <-block:
		case <-ctx.Done():
		}
		return nil, nil
	})
	ts := newTestServer(t, HubOptions{}, HandlerOptions{Commands: cmdr})
	c := ts.dialClient(t, tokOperator, ClientOptions{})
	done := make(chan error, 1)
	go func() {
		_, err := c.Command(context.Background(), "ses_a1", Command{Name: CmdStop})
		done <- err
	}()
	time.Sleep(50 * time.Millisecond)
	ts.hub.dropConnections()
	select {
	case err := <-done:
		if !errors.Is(err, ErrUnavailable) {
			t.Fatalf("got %v, want ErrUnavailable", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Command did not return when its connection dropped")
	}
	if _, ok := <-c.Events(); ok {
		t.Fatal("Events not closed after the connection ended without Reconnect")
	}
	if _, err := c.Command(t.Context(), "ses_a1", Command{Name: CmdStop}); !errors.Is(err, ErrUnavailable) {
		t.Fatalf("command on an ended client: %v", err)
	}
	_ = c.Close()
	if _, err := c.Command(t.Context(), "ses_a1", Command{Name: CmdStop}); !errors.Is(err, ErrClosed) {
		t.Fatalf("command on a closed client: %v", err)
	}
}
