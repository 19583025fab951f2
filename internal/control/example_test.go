package control_test

import (
	"context"
	"fmt"
	"net/http/httptest"

	"github.com/evercast/evercast"
	"github.com/evercast/evercast/internal/control"
)

// tokens is a fixed Authenticator.
type tokens map[string]control.Principal

func (t tokens) Authenticate(_ context.Context, token string) (control.Principal, error) {
	if p, ok := t[token]; ok {
		return p, nil
	}
	return control.Principal{}, fmt.Errorf("token: %w", evercast.ErrNotFound)
}

// An operator console subscribes to a session and receives what the
// orchestrator publishes.
func Example() {
	ctx := context.Background()
	hub := control.NewHub(control.HubOptions{})
	srv := httptest.NewServer(hub.Handler(control.HandlerOptions{
		Auth: tokens{"op-token": {Role: control.RoleOperator, Name: "ops"}},
	}))
	defer srv.Close()
	defer hub.Close()

	console, err := control.Dial(ctx, srv.URL, "op-token", control.ClientOptions{Reconnect: true})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer console.Close()
	if err := console.Subscribe(ctx, []string{"ses_1"}, 0); err != nil {
		fmt.Println(err)
		return
	}

	hub.Publish(control.Event{SessionID: "ses_1", Name: control.EventBuffer,
		Data: control.BufferData{BufferAheadSeconds: 42.5, TargetSeconds: 60}})

	e := <-console.Events()
	var d control.BufferData
	if err := e.DecodeData(&d); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(e.Seq, e.SessionID, e.Name, d.BufferAheadSeconds)
	// Output: 1 ses_1 buffer 42.5
}

// A playout process in its own process executes the commands the server
// forwards to it, and reports what it airs.
func ExampleClient_ServeCommands() {
	ctx := context.Background()
	hub := control.NewHub(control.HubOptions{})
	srv := httptest.NewServer(hub.Handler(control.HandlerOptions{
		Auth: tokens{"playout-token": {Role: control.RolePlayout, Name: "playout-1"}},
	}))
	defer srv.Close()
	defer hub.Close()

	playout, err := control.Dial(ctx, srv.URL, "playout-token", control.ClientOptions{Reconnect: true})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer playout.Close()
	err = playout.ServeCommands(ctx, func(ctx context.Context, sessionID string, c control.Command) (map[string]any, error) {
		return map[string]any{"skipped": "clp_7"}, nil
	})
	if err != nil {
		fmt.Println(err)
		return
	}

	// The server side (the integrator's Commander) forwards a skip.
	res, err := hub.Forward(ctx, "ses_1", control.Command{Name: control.CmdSkip})
	fmt.Println(res["skipped"], err)
	// Output: clp_7 <nil>
}
