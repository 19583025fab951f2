package evercast

import (
	"encoding/json"
	"testing"
)

func TestTextUnmarshal(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want Text
	}{
		{"object", `{"zh":"纯棉","en":"cotton"}`, Text{LangZH: "纯棉", LangEN: "cotton"}},
		{"han string", `"纯棉"`, Text{LangZH: "纯棉"}},
		{"latin string", `"42 cm"`, Text{LangEN: "42 cm"}},
		{"array", `["ISO 9001", {"zh":"有机认证","en":"organic"}]`, Text{LangEN: "ISO 9001; organic", LangZH: "有机认证"}},
		{"null", `null`, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got Text
			if err := json.Unmarshal([]byte(tt.in), &got); err != nil {
				t.Fatal(err)
			}
			if len(got) != len(tt.want) {
				t.Fatalf("got %v, want %v", got, tt.want)
			}
			for k, v := range tt.want {
				if got[k] != v {
					t.Fatalf("got %v, want %v", got, tt.want)
				}
			}
		})
	}
	var bad Text
	if err := json.Unmarshal([]byte(`42`), &bad); err == nil {
		t.Fatal("number accepted as text")
	}
}

func TestMoney(t *testing.T) {
	tests := []struct {
		in   string
		want Money
		err  bool
	}{
		{"129.9", 12990, false}, {"130", 13000, false}, {"0.05", 5, false}, {"1.500", 150, false},
		{"1.505", 0, true}, {"-1", 0, true}, {"abc", 0, true}, {"", 0, true},
	}
	for _, tt := range tests {
		got, err := ParseMoney(tt.in)
		if (err != nil) != tt.err || got != tt.want {
			t.Errorf("ParseMoney(%q) = %v, %v; want %v, err=%v", tt.in, got, err, tt.want, tt.err)
		}
	}
	if s := Money(12990).Spoken(); s != "129.9" {
		t.Errorf("Spoken = %q", s)
	}
	if s := Money(13000).Spoken(); s != "130" {
		t.Errorf("Spoken = %q", s)
	}
}
