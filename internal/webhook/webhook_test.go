package webhook

import (
	"errors"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/hibiken/asynq"

	"github.com/evercast/evercast"
)

func TestSignVerify(t *testing.T) {
	const secret = "whsec_0123456789abcdef"
	body := []byte(`{"id":"ev_1","event":"clip.aired"}`)
	at := time.Unix(1740816000, 0)
	sig := Sign(secret, at, body)
	tests := []struct {
		name   string
		secret string
		header string
		body   []byte
		now    time.Time
		want   error
	}{
		{"good", secret, sig, body, at.Add(time.Minute), nil},
		{"good among rotated", secret, "t=1740816000,v1=00ff," + sig[len("t=1740816000,"):], body, at, nil},
		{"tampered body", secret, sig, []byte(`{"id":"ev_1","event":"clip.failed"}`), at, ErrBadSignature},
		{"wrong secret", "whsec_other-secret-value", sig, body, at, ErrBadSignature},
		{"changed timestamp", secret, strings.Replace(sig, "t=1740816000", "t=1740816001", 1), body, at, ErrBadSignature},
		{"stale", secret, sig, body, at.Add(6 * time.Minute), ErrStale},
		{"from the future", secret, sig, body, at.Add(-6 * time.Minute), ErrStale},
		{"no timestamp", secret, sig[len("t=1740816000,"):], body, at, ErrBadSignature},
		{"no signature", secret, "t=1740816000", body, at, ErrBadSignature},
		{"empty", secret, "", body, at, ErrBadSignature},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := Verify(tc.secret, tc.header, tc.body, tc.now, 5*time.Minute)
			if !errors.Is(err, tc.want) || (tc.want == nil) != (err == nil) {
				t.Fatalf("Verify = %v, want %v", err, tc.want)
			}
		})
	}
}

// TestSignKnownAnswer pins the signature scheme to an HMAC-SHA256 value
// computed outside Go:
//
//	printf '%s' '1740816000.{"a":1}' | openssl dgst -sha256 -hmac 'whsec_0123456789abcdef'
func TestSignKnownAnswer(t *testing.T) {
	got := Sign("whsec_0123456789abcdef", time.Unix(1740816000, 0), []byte(`{"a":1}`))
	const want = "t=1740816000,v1=4f28b9083b467a96af638af0953cda55de808283fb7913a2ec42bf4e1732e981"
	if got != want {
		t.Fatalf("Sign = %s, want %s", got, want)
	}
}

func TestCheckURL(t *testing.T) {
	long := "https://hooks.example.com/" + strings.Repeat("a", MaxURL)
	tests := []struct {
		url          string
		allowPrivate bool
		ok           bool
	}{
		{"https://hooks.example.com/evercast", false, true},
		{"http://hooks.example.com:8080/x?token=abc", false, true},
		{"https://93.184.216.34/hook", false, true},
		{"https://[2606:2800:220:1:248:1893:25c8:1946]/hook", false, true},
		{"", false, false},
		{long, false, false},
		{"ftp://hooks.example.com/", false, false},
		{"hooks.example.com/x", false, false},
		{"https:///path", false, false},
		{"mailto:ops@example.com", false, false},
		{"https://user:pw@hooks.example.com/", false, false},
		{"https://token@hooks.example.com/", false, false},
		{"https://hooks.example.com/#frag", false, false},
		{"https://hooks.example.com/a b", false, false},
		{"https://hooks.example.com/\n", false, false},
		{"https://hooks.example.com:99999/", false, false},
		{"http://127.0.0.1:8080/hook", false, false},
		{"http://localhost/hook", false, false},
		{"http://api.localhost./hook", false, false},
		{"http://10.1.2.3/hook", false, false},
		{"http://169.254.169.254/latest/meta-data", false, false},
		{"http://[::1]/hook", false, false},
		{"http://[::ffff:127.0.0.1]/hook", false, false},
		{"http://0.0.0.0/hook", false, false},
		{"http://100.64.0.1/hook", false, false},
		{"http://127.0.0.1:8080/hook", true, true},
		{"http://localhost/hook", true, true},
		{"https://user:pw@127.0.0.1/", true, false},
	}
	for _, tc := range tests {
		t.Run(tc.url, func(t *testing.T) {
			err := CheckURL(tc.url, tc.allowPrivate)
			if tc.ok != (err == nil) {
				t.Fatalf("CheckURL(%q, %v) = %v, want ok %v", tc.url, tc.allowPrivate, err, tc.ok)
			}
			var ve *evercast.ValidationError
			if err != nil && (!errors.As(err, &ve) || ve.Field != "url") {
				t.Fatalf("error %v does not name the url field", err)
			}
		})
	}
}

func TestPublic(t *testing.T) {
	for addr, want := range map[string]bool{
		"93.184.216.34": true, "8.8.8.8": true, "2606:4700::1111": true, "1.1.1.1": true,
		"127.0.0.1": false, "127.9.9.9": false, "::1": false, "10.0.0.1": false, "172.16.5.4": false, "192.168.1.1": false,
		"169.254.169.254": false, "fe80::1": false, "fc00::1": false, "fd12:3456::1": false, "0.0.0.0": false, "::": false,
		"100.64.1.1": false, "224.0.0.1": false, "ff02::1": false, "255.255.255.255": false, "198.18.0.1": false,
		"::ffff:10.0.0.1": false, "::ffff:8.8.8.8": true, "64:ff9b::a00:1": false, "64:ff9b::808:808": true,
		"2002:7f00:1::": false, "2001:db8::1": false, "192.0.2.10": false,
	} {
		if got := Public(netip.MustParseAddr(addr)); got != want {
			t.Errorf("Public(%s) = %v, want %v", addr, got, want)
		}
	}
}

func TestValidate(t *testing.T) {
	s := NewService(nil, ServiceOptions{})
	tests := []struct {
		name  string
		in    Input
		field string // "" = valid
		want  Input
	}{
		{"defaults", Input{URL: "https://a.example/"}, "", Input{URL: "https://a.example/"}},
		{"events kept in order, deduplicated", Input{URL: "https://a.example/", Events: []string{"clip.aired", "session.state", "clip.aired"}},
			"", Input{URL: "https://a.example/", Events: []string{"clip.aired", "session.state"}}},
		{"wildcard", Input{URL: "https://a.example/", Events: []string{"*"}}, "", Input{URL: "https://a.example/"}},
		{"own secret", Input{URL: "https://a.example/", Secret: "my-own-secret-1234"}, "", Input{URL: "https://a.example/", Secret: "my-own-secret-1234"}},
		{"bad url", Input{URL: "gopher://a.example/"}, "url", Input{}},
		{"private url", Input{URL: "http://192.168.0.10/"}, "url", Input{}},
		{"unknown event", Input{URL: "https://a.example/", Events: []string{"clip.aired", "clip.exploded"}}, "events[1]", Input{}},
		{"deployment event", Input{URL: "https://a.example/", Events: []string{"queue"}}, "events[0]", Input{}},
		{"wildcard with others", Input{URL: "https://a.example/", Events: []string{"clip.aired", "*"}}, "events[1]", Input{}},
		{"too many events", Input{URL: "https://a.example/", Events: make([]string, 33)}, "events", Input{}},
		{"short secret", Input{URL: "https://a.example/", Secret: "short"}, "secret", Input{}},
		{"secret with space", Input{URL: "https://a.example/", Secret: "has a space in it!"}, "secret", Input{}},
		{"long secret", Input{URL: "https://a.example/", Secret: strings.Repeat("x", MaxSecret+1)}, "secret", Input{}},
		{"bad session id", Input{URL: "https://a.example/", SessionID: "ses/../x"}, "session_id", Input{}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			in := tc.in
			err := s.Validate(&in)
			if tc.field != "" {
				var ve *evercast.ValidationError
				if !errors.As(err, &ve) || ve.Field != tc.field {
					t.Fatalf("Validate = %v, want an error naming %s", err, tc.field)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if tc.want.Secret == "" {
				if !strings.HasPrefix(in.Secret, SecretPrefix) || len(in.Secret) != len(SecretPrefix)+48 {
					t.Fatalf("generated secret %q", in.Secret)
				}
				tc.want.Secret = in.Secret
			}
			if in.URL != tc.want.URL || in.Secret != tc.want.Secret || strings.Join(in.Events, ",") != strings.Join(tc.want.Events, ",") || (in.Events == nil) != (tc.want.Events == nil) {
				t.Fatalf("Validate gave %+v, want %+v", in, tc.want)
			}
		})
	}
	a, b := Input{URL: "https://a.example/"}, Input{URL: "https://a.example/"}
	if s.Validate(&a) != nil || s.Validate(&b) != nil || a.Secret == b.Secret {
		t.Fatal("two generated secrets are equal")
	}
}

func TestBackoff(t *testing.T) {
	want := []time.Duration{2 * time.Second, 4 * time.Second, 8 * time.Second, 16 * time.Second, 32 * time.Second,
		64 * time.Second, 128 * time.Second, 256 * time.Second, 5 * time.Minute, 5 * time.Minute}
	for n, w := range want {
		if got := Backoff(n); got != w {
			t.Errorf("Backoff(%d) = %s, want %s", n, got, w)
		}
	}
	if Backoff(1000) != MaxBackoff || Backoff(-1) != FirstBackoff {
		t.Error("Backoff out of range")
	}
	deliver := asynq.NewTask(TypeDeliver, nil)
	if d, ok := RetryDelay(3, errors.New("x"), deliver); !ok || d != 17*time.Second {
		t.Errorf("RetryDelay of a plain error = %s %v", d, ok)
	}
	if d, ok := RetryDelay(0, &retryError{delay: 42 * time.Second, err: errors.New("x")}, deliver); !ok || d != 43*time.Second {
		t.Errorf("RetryDelay of the handler's delay = %s %v", d, ok)
	}
	if _, ok := RetryDelay(0, errors.New("x"), asynq.NewTask("clip:render", nil)); ok {
		t.Error("RetryDelay claimed another task type")
	}
}
