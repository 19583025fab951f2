package control

import (
	"encoding/json"
	"reflect"
	"testing"
	"unicode/utf8"
)

// FuzzDecode feeds arbitrary frames to the client message decoder: it must
// never panic, must answer every refusal with a known code, and whatever it
// accepts must satisfy the limits and decode again to the same message.
func FuzzDecode(f *testing.F) {
	seeds := []string{
		`{"type":"subscribe","id":"1","sessions":["ses_a1"],"since":42}`,
		`{"type":"subscribe","sessions":["*"]}`,
		`{"type":"unsubscribe","id":"2","sessions":["a","a","b"]}`,
		`{"type":"command","id":"3","session_id":"s","command":"say","args":{"text":" 你好 "}}`,
		`{"type":"command","id":"4","session_id":"s","command":"focus","args":{"product_id":"prd_1"}}`,
		`{"type":"command","session_id":"s","command":"dance"}`,
		`{"type":"comments","id":"5","session_id":"s","comments":[{"id":"c","user":"u","text":"hi","at":"2025-01-01T00:00:00Z"}]}`,
		`{"type":"publish","id":"6","event":{"event":"clip.aired","session_id":"s","data":{"clip_id":"c"}}}`,
		`{"type":"executor"}`,
		`{"type":"ack","id":"fwd-1","result":{"ok":true}}`,
		`{"type":"error","id":"fwd-2","code":"not_found","message":"gone"}`,
		`{"type":"ping","id":"7"}`,
		`{"type":"ack","id":"x","result":[1]}`,
		`{`, `[]`, `null`, `"str"`, `{"type":1}`, `{"since":-1,"type":"subscribe","sessions":["s"]}`,
	}
	for _, s := range seeds {
		f.Add([]byte(s))
	}
	codes := map[string]bool{CodeBadRequest: true, CodeUnknownCommand: true, CodeTooLarge: true}
	f.Fuzz(func(t *testing.T, b []byte) {
		m, perr, id := decodeClient(b)
		if perr != nil {
			if m != nil {
				t.Fatal("both a message and an error")
			}
			if !codes[perr.Code] || perr.Message == "" || !utf8.ValidString(perr.Message) {
				t.Fatalf("refusal %+v", perr)
			}
			if !validID(id) {
				t.Fatalf("error answers an invalid id %q", id)
			}
			return
		}
		if !validID(m.ID) {
			t.Fatalf("accepted id %q", m.ID)
		}
		switch m.Type {
		case TypeSubscribe, TypeUnsubscribe, TypeExecutor:
			if len(m.Sessions) == 0 || len(m.Sessions) > maxSessionsPerMsg {
				t.Fatalf("accepted %d sessions", len(m.Sessions))
			}
			seen := map[string]bool{}
			for _, s := range m.Sessions {
				if seen[s] || (s == AllSessions && len(m.Sessions) != 1) || (s != AllSessions && checkSessionID(s) != nil) {
					t.Fatalf("accepted sessions %q", m.Sessions)
				}
				seen[s] = true
			}
		case TypeCommand:
			if !knownCommand(m.Command) || m.Args == nil || checkSessionID(m.SessionID) != nil {
				t.Fatalf("accepted command %+v", m)
			}
			if m.Command == CmdSay && (m.Args.Text == "" || len(m.Args.Text) > maxSayText) {
				t.Fatalf("accepted say %q", m.Args.Text)
			}
			if m.Command == CmdFocus && m.Args.ProductID == "" {
				t.Fatal("accepted focus without a product")
			}
		case TypeComments:
			if len(m.Comments) == 0 || len(m.Comments) > maxCommentsPerMsg {
				t.Fatalf("accepted %d comments", len(m.Comments))
			}
			for _, c := range m.Comments {
				if c.ID == "" || c.Text == "" || len(c.Text) > maxCommentText || !utf8.ValidString(c.Text) {
					t.Fatalf("accepted comment %+v", c)
				}
			}
		case TypePublish:
			if m.Event == nil || !validName(m.Event.Name) || m.Event.Seq != 0 {
				t.Fatalf("accepted event %+v", m.Event)
			}
		case TypePing:
		case TypeAck, TypeError:
			if m.ID == "" {
				t.Fatal("accepted an answer without an id")
			}
		default:
			t.Fatalf("accepted type %q", m.Type)
		}
		// What was accepted encodes and decodes to the same message.
		again, err := json.Marshal(m)
		if err != nil {
			t.Fatalf("re-encode: %v", err)
		}
		m2, perr2, _ := decodeClient(again)
		if perr2 != nil {
			t.Fatalf("re-decode of %s: %v", again, perr2)
		}
		if m.Type != TypePublish && m.Type != TypeAck && !reflect.DeepEqual(m, m2) {
			t.Fatalf("round trip changed the message:\n%+v\n%+v", m, m2)
		}
	})
}
