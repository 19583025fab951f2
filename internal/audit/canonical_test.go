package audit

import (
	"encoding/json"
	"testing"
	"time"
)

func TestCanonical(t *testing.T) {
	for _, tc := range []struct {
		name, in, want string
		err            bool
	}{
		{name: "whitespace and order", in: ` { "b" : [1, 2, {"d":true, "c":null}], "a" : "x" } `, want: `{"a":"x","b":[1,2,{"c":null,"d":true}]}`},
		// RFC 8785 §3.2.3: member names sorted by UTF-16 code units (😀 is
		// the surrogate pair D83D DE00, below U+FB33).
		{name: "utf-16 sort", in: `{"\u20ac":"Euro Sign","\r":"Carriage Return","\ufb33":"Hebrew Letter Dalet With Dagesh","1":"One","\ud83d\ude00":"Emoji: Grinning Face","\u0080":"Control","\u00f6":"Latin Small Letter O With Diaeresis"}`,
			want: "{\"\\r\":\"Carriage Return\",\"1\":\"One\",\"\u0080\":\"Control\",\"\u00f6\":\"Latin Small Letter O With Diaeresis\",\"\u20ac\":\"Euro Sign\",\"\U0001F600\":\"Emoji: Grinning Face\",\"\ufb33\":\"Hebrew Letter Dalet With Dagesh\"}"},
		// RFC 8785 §3.2.2.2 string escaping.
		{name: "strings", in: `"\u20ac$\u000F\u000aA'\u0042\u0022\u005c\\\"\/"`, want: `"€$\u000f\nA'B\"\\\\\"/"`},
		{name: "no html escaping", in: `"<a href=\"x\">&</a> \u2028"`, want: "\"<a href=\\\"x\\\">&</a> \u2028\""},
		{name: "control characters", in: `"\u0000\u0008\u0009\u000c\u000d\u001f\u007f"`, want: "\"\\u0000\\b\\t\\f\\r\\u001f\u007f\""},
		{name: "han text", in: `{"text":"龙井茶，明前采摘。"}`, want: `{"text":"龙井茶，明前采摘。"}`},
		// RFC 8785 §3.2.2.3 numbers (ECMAScript's Number#toString).
		{name: "numbers", in: `[4.50, 2e-3, 0.000001, 1E-7, 1e21, 1e30, -0, 0.0, 100, -12, 1.5, 333333333.33333329, 9007199254740991]`,
			want: `[4.5,0.002,0.000001,1e-7,1e+21,1e+30,0,0,100,-12,1.5,333333333.3333333,9007199254740991]`},
		{name: "integer beyond 2^53", in: `9007199254740993`, err: true},
		{name: "big exponent overflow", in: `1e400`, err: true},
		{name: "trailing data", in: `{} {}`, err: true},
		{name: "not json", in: `{"a":}`, err: true},
		{name: "empty", in: ``, err: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Canonical([]byte(tc.in))
			if tc.err {
				if err == nil {
					t.Fatalf("Canonical(%s) = %s, want an error", tc.in, got)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tc.want {
				t.Fatalf("Canonical(%s)\n got %s\nwant %s", tc.in, got, tc.want)
			}
			again, err := Canonical(got)
			if err != nil || string(again) != string(got) {
				t.Fatalf("not idempotent: %s -> %s (%v)", got, again, err)
			}
		})
	}
}

func TestCanonicalOf(t *testing.T) {
	type payload struct {
		Z string `json:"z"`
		A int    `json:"a"`
	}
	for _, tc := range []struct {
		name string
		in   any
		want string
	}{
		{"struct fields sorted", payload{Z: "<b>", A: 2}, `{"a":2,"z":"<b>"}`},
		{"raw message", json.RawMessage(`{"y":1,"x":[]}`), `{"x":[],"y":1}`},
		{"bytes", []byte(`"s"`), `"s"`},
		{"nil", nil, `null`},
		{"empty raw", json.RawMessage(nil), `null`},
		{"map", map[string]bool{"b": true, "a": false}, `{"a":false,"b":true}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := CanonicalOf(tc.in)
			if err != nil || string(got) != tc.want {
				t.Fatalf("CanonicalOf(%v) = %s, %v; want %s", tc.in, got, err, tc.want)
			}
		})
	}
}

// TestComputeHashKnownAnswer pins the serialisation documented in
// docs/compliance.md: the expected values were computed independently with
// Python's hashlib from the documented pre-image.
func TestComputeHashKnownAnswer(t *testing.T) {
	if got, want := GenesisHash("ses_demo"), "3bd95b64f7cdce8ce85d7d45085b1cca1b6f53f05cc80a7bfcf538217ff58e19"; got != want {
		t.Fatalf("GenesisHash = %s, want %s", got, want)
	}
	r := Record{Seq: 1, SessionID: "ses_demo", MerchantID: "mer_demo", Kind: "clip.aired",
		At: time.UnixMilli(1740816001500).UTC(), Actor: "playout", Data: json.RawMessage(`{"text":"龙井茶","clip_id":"clp_1"}`),
		PrevHash: GenesisHash("ses_demo")}
	if got, want := r.ComputeHash(), "363835cbeba30e210765a078f7c9253f698d36d577811b5af13693280e13e576"; got != want {
		t.Fatalf("ComputeHash = %s, want %s", got, want)
	}
}
