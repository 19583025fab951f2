package evercast

import (
	"fmt"
	"strings"
	"time"
	"unicode/utf8"
)

// Comment is a viewer comment a platform pushes in.
type Comment struct {
	ID   string    `json:"id"`
	User string    `json:"user"`
	Text string    `json:"text"`
	At   time.Time `json:"at"`
}

// Comment limits.
const (
	MaxCommentText  = 2000 // bytes; longer comments are cut at a rune boundary
	MaxCommentBatch = 1000 // comments per request
)

// Normalize validates a comment from outside, naming the field, and trims
// what may be trimmed: invalid UTF-8 is replaced, overlong text is cut, a
// missing time becomes now.
func (c *Comment) Normalize(i int, now time.Time) error {
	field := func(f string) string { return fmt.Sprintf("comments[%d].%s", i, f) }
	c.ID = strings.TrimSpace(c.ID)
	switch {
	case c.ID == "":
		return Invalid(field("id"), "is required")
	case len(c.ID) > 128:
		return Invalid(field("id"), "is longer than 128 bytes")
	}
	c.User = strings.ToValidUTF8(strings.TrimSpace(c.User), "\uFFFD")
	if len(c.User) > 128 {
		c.User = truncate(c.User, 128)
	}
	c.Text = strings.ToValidUTF8(c.Text, "\uFFFD")
	if strings.TrimSpace(c.Text) == "" {
		return Invalid(field("text"), "is empty")
	}
	if len(c.Text) > MaxCommentText {
		c.Text = truncate(c.Text, MaxCommentText)
	}
	if c.At.IsZero() {
		c.At = now
	}
	if c.At.After(now.Add(24*time.Hour)) || c.At.Before(now.Add(-30*24*time.Hour)) {
		return Invalid(field("at"), "is more than a day ahead or a month behind the server's clock")
	}
	return nil
}

func truncate(s string, n int) string {
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

// CommentRecord is a comment as Evercast handled it.
type CommentRecord struct {
	Comment
	SessionID  string    `json:"session_id"`
	ReceivedAt time.Time `json:"received_at"`
	// Action is answer, greet, ignore, duplicate, rate_limited or flood.
	Action string `json:"action"`
	Reason string `json:"reason,omitempty"`
	Intent string `json:"intent,omitempty"`
	SKU    string `json:"sku,omitempty"`
	// ReplyClipID is the reply clip planned for it.
	ReplyClipID string `json:"reply_clip_id,omitempty"`
	DedupeKey   string `json:"-"`
}

// CommentResult says what happened to a batch of comments.
type CommentResult struct {
	Received  int `json:"received"`
	New       int `json:"new"`
	Duplicate int `json:"duplicate"`
	Replies   int `json:"replies"`
	// Actions counts the decisions: answer, greet, ignore, duplicate,
	// rate_limited, flood.
	Actions map[string]int `json:"actions"`
}
