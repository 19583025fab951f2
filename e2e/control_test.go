package e2e

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/evercast/evercast"
	"github.com/evercast/evercast/internal/control"
)

// TestControlChannel: a console connects over the websocket, sees the
// session's events, pauses and resumes it, and has a say-now text aired.
func TestControlChannel(t *testing.T) {
	s := startServe(t, t.TempDir(), "test-token-0123456789abcdef", "--clock", "fast")
	id := seedDemo(t, s)
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	url := "ws" + strings.TrimPrefix(s.base, "http") + "/v1/ws/control"
	cl, err := control.Dial(ctx, url, s.token, control.ClientOptions{Reconnect: true})
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	if err := cl.Subscribe(ctx, []string{id}, 0); err != nil {
		t.Fatal(err)
	}
	seen := map[string]int{}
	wait := func(what string, ok func(control.Event) bool) control.Event {
		t.Helper()
		for {
			select {
			case e := <-cl.Events():
				seen[e.Name]++
				if e.SessionID == id && ok(e) {
					return e
				}
			case <-ctx.Done():
				t.Fatalf("no %s event; saw %v\n%s", what, seen, tail(s.logs.String(), 3000))
			}
		}
	}
	wait("clip.aired", func(e control.Event) bool { return e.Name == control.EventClipAired })
	if _, err := cl.Command(ctx, id, control.Command{Name: control.CmdPause}); err != nil {
		t.Fatal(err)
	}
	wait("session.state paused", func(e control.Event) bool {
		var d control.SessionStateData
		return e.Name == control.EventSessionState && e.DecodeData(&d) == nil && d.State == evercast.SessionPaused
	})
	// While paused, what airs is standby.
	e := wait("standby on air", func(e control.Event) bool {
		var d control.ClipData
		return e.Name == control.EventClipCued && e.DecodeData(&d) == nil && d.Kind == evercast.KindStandby
	})
	_ = e
	if _, err := cl.Command(ctx, id, control.Command{Name: control.CmdResume}); err != nil {
		t.Fatal(err)
	}
	res, err := cl.Command(ctx, id, control.Command{Name: control.CmdSay, Args: control.CommandArgs{Text: "今晚八点还有一场直播，欢迎再来。"}})
	if err != nil {
		t.Fatal(err)
	}
	clipID, _ := res["clip_id"].(string)
	wait("say-now aired", func(e control.Event) bool {
		var d control.ClipData
		return e.Name == control.EventClipAired && e.DecodeData(&d) == nil && d.ClipID == clipID && d.Kind == evercast.KindSay
	})
	if _, err := cl.Command(ctx, id, control.Command{Name: "dance"}); err == nil {
		t.Fatal("an unknown command was accepted")
	}
	// A merchant key of another merchant cannot see or steer this session.
	var m evercast.Merchant
	s.call(t, "POST", "/v1/merchants", map[string]any{"name": "other"}, &m)
	var key struct{ Token string }
	s.call(t, "POST", "/v1/merchants/"+m.ID+"/keys", nil, &key)
	other, err := control.Dial(ctx, url, key.Token, control.ClientOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	if err := other.Subscribe(ctx, []string{id}, 0); err == nil {
		t.Fatal("another merchant subscribed to the session")
	}
	if _, err := other.Command(ctx, id, control.Command{Name: control.CmdPause}); err == nil {
		t.Fatal("another merchant paused the session")
	}
}
