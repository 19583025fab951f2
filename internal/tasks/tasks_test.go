package tasks

import (
	"errors"
	"testing"

	"github.com/hibiken/asynq"
)

func TestRoundTrip(t *testing.T) {
	p := Payload{ClipID: "clp_a", SessionID: "ses_b", StagingKey: "staging/clp_a.ts", DurationMS: 3200, Breaks: []int{3, 7}}
	tk, err := New(TypeStore, p, QueueCritical)
	if err != nil {
		t.Fatal(err)
	}
	got, err := Decode(tk)
	if err != nil || got.ClipID != p.ClipID || got.DurationMS != 3200 || len(got.Breaks) != 2 {
		t.Fatalf("decode %+v %v", got, err)
	}
	if TaskID(TypeRender, "clp_a") != "clip:render:clp_a" {
		t.Fatal("task id layout")
	}
	v, err := NewVariant(TypeSpeech, Payload{ClipID: "clp_a", SessionID: "ses_b"}, QueueDefault, "approved")
	if err != nil || v.Type() != TypeSpeech {
		t.Fatalf("variant %v", err)
	}
}

func TestRefused(t *testing.T) {
	for _, tc := range []struct {
		typ string
		p   Payload
	}{
		{TypeScript, Payload{ClipID: "x", SessionID: "ses_b"}},
		{TypeScript, Payload{ClipID: "clp_a", SessionID: ""}},
		{TypeStore, Payload{ClipID: "clp_a", SessionID: "ses_b", DurationMS: 3200}},
		{TypeStore, Payload{ClipID: "clp_a", SessionID: "ses_b", StagingKey: "../etc", DurationMS: 3200}},
		{TypeStore, Payload{ClipID: "clp_a", SessionID: "ses_b", StagingKey: "s", DurationMS: 0}},
		{TypeStore, Payload{ClipID: "clp_a", SessionID: "ses_b", StagingKey: "s", DurationMS: 3200, Breaks: []int{10}}},
	} {
		if _, err := New(tc.typ, tc.p, QueueDefault); err == nil {
			t.Errorf("%s %+v accepted", tc.typ, tc.p)
		}
	}
	for _, raw := range []string{"", "{", `{"clip_id":"clp_a","session_id":"ses_b","x":1}`, `[]`} {
		if _, err := Decode(asynq.NewTask(TypeScript, []byte(raw))); !errors.Is(err, asynq.SkipRetry) {
			t.Errorf("%q: want SkipRetry, got %v", raw, err)
		}
	}
}
