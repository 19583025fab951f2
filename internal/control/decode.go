package control

import (
	"encoding/json"
	"strings"
	"unicode/utf8"
)

// Limits on the fields of client messages.
const (
	maxIDLen          = 64   // a message id
	maxSessionIDLen   = 128  // a session id
	maxSessionsPerMsg = 1000 // sessions named in one subscribe
	maxCommentsPerMsg = 500  // comments in one comments message
	maxCommentIDLen   = 128
	maxUserLen        = 128
	maxCommentText    = 2000 // bytes
	maxSayText        = 2000 // bytes
	maxProductIDLen   = 128
	maxEventNameLen   = 64
	maxCodeLen        = 64
	maxMessageLen     = 4000 // an executor's error message
)

// AllSessions in a subscribe (or executor) message means every session.
const AllSessions = "*"

// decodeClient parses and checks one client message. The *Error it returns
// carries the message's id when one could be read, so the error answers it.
func decodeClient(b []byte) (*clientMessage, *Error, string) {
	var m clientMessage
	if err := json.Unmarshal(b, &m); err != nil {
		id := m.ID
		if !validID(id) {
			id = ""
		}
		return nil, errorf(CodeBadRequest, "malformed message: %s", jsonProblem(err)), id
	}
	if !validID(m.ID) {
		return nil, errorf(CodeBadRequest, "id must be at most %d printable ASCII characters", maxIDLen), ""
	}
	if e := m.check(); e != nil {
		return nil, e, m.ID
	}
	return &m, nil, m.ID
}

// jsonProblem describes a JSON decoding error without echoing input back.
func jsonProblem(err error) string {
	switch e := err.(type) {
	case *json.SyntaxError:
		return "invalid JSON at byte " + itoa(e.Offset)
	case *json.UnmarshalTypeError:
		if e.Field != "" {
			return e.Field + " must be " + e.Type.String()
		}
		return "a message must be a JSON object"
	}
	return "invalid JSON"
}

func itoa(n int64) string {
	b, _ := json.Marshal(n)
	return string(b)
}

// check validates the fields of m's type and normalises them.
func (m *clientMessage) check() *Error {
	switch m.Type {
	case "":
		return errorf(CodeBadRequest, "type is required")
	case TypeSubscribe, TypeUnsubscribe:
		return m.checkSessions(false)
	case TypeExecutor:
		return m.checkSessions(true)
	case TypeCommand:
		if e := checkSessionID(m.SessionID); e != nil {
			return e
		}
		return m.checkCommand()
	case TypeComments:
		if e := checkSessionID(m.SessionID); e != nil {
			return e
		}
		return m.checkComments()
	case TypePublish:
		return m.checkPublish()
	case TypePing:
		return nil
	case TypeAck:
		if m.ID == "" {
			return errorf(CodeBadRequest, "an ack needs the id of the command it answers")
		}
		if len(m.Result) > 0 && m.Result[0] != '{' && string(m.Result) != "null" {
			return errorf(CodeBadRequest, "result must be an object")
		}
		return nil
	case TypeError:
		if m.ID == "" {
			return errorf(CodeBadRequest, "an error needs the id of the command it answers")
		}
		if m.Code == "" || len(m.Code) > maxCodeLen || !validName(m.Code) {
			return errorf(CodeBadRequest, "code is required")
		}
		if len(m.Message) > maxMessageLen {
			m.Message = truncate(m.Message, maxMessageLen)
		}
		return nil
	}
	return errorf(CodeUnknownCommand, "unknown message type %q", truncate(m.Type, 32))
}

func (m *clientMessage) checkSessions(defaultAll bool) *Error {
	if len(m.Sessions) == 0 {
		if !defaultAll {
			return errorf(CodeBadRequest, `sessions is required: session ids, or ["*"] for all`)
		}
		m.Sessions = []string{AllSessions}
	}
	if len(m.Sessions) > maxSessionsPerMsg {
		return errorf(CodeTooLarge, "at most %d sessions per message", maxSessionsPerMsg)
	}
	seen := make(map[string]bool, len(m.Sessions))
	out := m.Sessions[:0]
	for _, s := range m.Sessions {
		if s == AllSessions {
			m.Sessions = []string{AllSessions}
			return nil
		}
		if e := checkSessionID(s); e != nil {
			return e
		}
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	m.Sessions = out
	return nil
}

func checkSessionID(id string) *Error {
	if id == "" {
		return errorf(CodeBadRequest, "session_id is required")
	}
	if len(id) > maxSessionIDLen || !printable(id) || id == AllSessions {
		return errorf(CodeBadRequest, "session id must be at most %d printable ASCII characters", maxSessionIDLen)
	}
	return nil
}

func (m *clientMessage) checkCommand() *Error {
	if m.Command == "" {
		return errorf(CodeBadRequest, "command is required")
	}
	if !knownCommand(m.Command) {
		return errorf(CodeUnknownCommand, "unknown command %q; known: %s",
			truncate(m.Command, 32), strings.Join(Commands(), ", "))
	}
	if m.Args == nil {
		m.Args = &CommandArgs{}
	}
	a := m.Args
	a.Text = strings.TrimSpace(a.Text)
	a.ProductID = strings.TrimSpace(a.ProductID)
	switch m.Command {
	case CmdSay:
		if a.Text == "" {
			return errorf(CodeBadRequest, "say needs args.text")
		}
		if len(a.Text) > maxSayText || !utf8.ValidString(a.Text) {
			return errorf(CodeBadRequest, "args.text must be valid UTF-8 of at most %d bytes", maxSayText)
		}
		a.ProductID = ""
	case CmdFocus:
		if a.ProductID == "" {
			return errorf(CodeBadRequest, "focus needs args.product_id")
		}
		if len(a.ProductID) > maxProductIDLen || !printable(a.ProductID) {
			return errorf(CodeBadRequest, "args.product_id must be at most %d printable ASCII characters", maxProductIDLen)
		}
		a.Text = ""
	default:
		*a = CommandArgs{} // other commands take no arguments
	}
	return nil
}

func (m *clientMessage) checkComments() *Error {
	if len(m.Comments) == 0 {
		return errorf(CodeBadRequest, "comments is required")
	}
	if len(m.Comments) > maxCommentsPerMsg {
		return errorf(CodeTooLarge, "at most %d comments per message", maxCommentsPerMsg)
	}
	for i := range m.Comments {
		c := &m.Comments[i]
		c.Text = strings.TrimSpace(c.Text)
		switch {
		case c.ID == "" || len(c.ID) > maxCommentIDLen || !printable(c.ID):
			return errorf(CodeBadRequest, "comments[%d].id must be 1 to %d printable ASCII characters", i, maxCommentIDLen)
		case len(c.User) > maxUserLen || !utf8.ValidString(c.User):
			return errorf(CodeBadRequest, "comments[%d].user must be valid UTF-8 of at most %d bytes", i, maxUserLen)
		case c.Text == "":
			return errorf(CodeBadRequest, "comments[%d].text is required", i)
		case len(c.Text) > maxCommentText || !utf8.ValidString(c.Text):
			return errorf(CodeBadRequest, "comments[%d].text must be valid UTF-8 of at most %d bytes", i, maxCommentText)
		}
	}
	return nil
}

func (m *clientMessage) checkPublish() *Error {
	e := m.Event
	if e == nil {
		return errorf(CodeBadRequest, "event is required")
	}
	if e.Name == "" || len(e.Name) > maxEventNameLen || !validName(e.Name) {
		return errorf(CodeBadRequest, "event.event must be an event name such as clip.aired")
	}
	if e.SessionID != "" {
		if err := checkSessionID(e.SessionID); err != nil {
			return err
		}
	}
	if len(e.Data) > 0 && string(e.Data) == "null" {
		e.Data = nil
	}
	e.Seq = 0 // the hub numbers events
	return nil
}

// validID accepts an empty id or up to maxIDLen printable ASCII characters.
func validID(id string) bool { return len(id) <= maxIDLen && printable(id) }

// printable reports whether s is visible ASCII (no spaces or controls).
func printable(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x21 || s[i] > 0x7e {
			return false
		}
	}
	return true
}

// validName accepts lower-case names such as "clip.aired" or "not_found".
func validName(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '.' || c == '_') {
			return false
		}
	}
	return s != "" && s[0] >= 'a' && s[0] <= 'z'
}

// truncate cuts s to at most n bytes on a rune boundary.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}
