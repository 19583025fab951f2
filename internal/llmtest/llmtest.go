// Package llmtest is a local OpenAI-compatible HTTP server for tests and
// benchmarks: the one stand-in Evercast accepts, for hosted models that
// cannot run here. It speaks the real protocol: POST /v1/chat/completions
// (JSON, or server-sent events when "stream" is true) and
// POST /v1/audio/speech (WAV).
package llmtest

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"time"
	"unicode/utf8"
)

// Server is a scripted chat model.
type Server struct {
	*httptest.Server
	// Reply returns the answer to a request's messages; default echoes a
	// fixed line.
	Reply func(messages []Message) string
	// FirstToken delays the first streamed token; TokensPerSecond paces the
	// rest (0 = as fast as possible). A token is one rune of CJK text or one
	// word of other text.
	FirstToken      time.Duration
	TokensPerSecond float64
	// Status, when non-zero, is answered instead (to test error handling).
	Status int
	// APIKey, when set, is required as the bearer token.
	APIKey string

	mu       sync.Mutex
	requests []Request
}

// Message is a chat message.
type Message struct {
	Role    string `json:"role"`
	Content string `json:"content"`
}

// Request is a received chat request.
type Request struct {
	Model     string    `json:"model"`
	Messages  []Message `json:"messages"`
	Stream    bool      `json:"stream"`
	MaxTokens int       `json:"max_tokens"`
}

// New starts a server; close it with Close.
func New() *Server {
	s := &Server{}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/chat/completions", s.chat)
	mux.HandleFunc("POST /v1/audio/speech", s.speech)
	s.Server = httptest.NewServer(mux)
	return s
}

// BaseURL is the value for EVERCAST_LLM_BASE_URL.
func (s *Server) BaseURL() string { return s.URL + "/v1" }

// Requests returns the chat requests received so far.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Request(nil), s.requests...)
}

func (s *Server) authorized(w http.ResponseWriter, r *http.Request) bool {
	if s.APIKey != "" && r.Header.Get("Authorization") != "Bearer "+s.APIKey {
		writeError(w, http.StatusUnauthorized, "invalid_api_key", "Incorrect API key provided")
		return false
	}
	if s.Status != 0 {
		writeError(w, s.Status, "server_error", "scripted failure")
		return false
	}
	return true
}

func writeError(w http.ResponseWriter, status int, code, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{"error": map[string]any{"message": msg, "type": code, "code": code}})
}

func (s *Server) chat(w http.ResponseWriter, r *http.Request) {
	if !s.authorized(w, r) {
		return
	}
	var req Request
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<20)).Decode(&req); err != nil || req.Model == "" || len(req.Messages) == 0 {
		writeError(w, http.StatusBadRequest, "invalid_request_error", "bad request")
		return
	}
	s.mu.Lock()
	s.requests = append(s.requests, req)
	s.mu.Unlock()
	answer := "Thanks for watching."
	if s.Reply != nil {
		answer = s.Reply(req.Messages)
	}
	id := fmt.Sprintf("chatcmpl-%d", time.Now().UnixNano())
	if !req.Stream {
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{
			"id": id, "object": "chat.completion", "created": time.Now().Unix(), "model": req.Model,
			"choices": []any{map[string]any{"index": 0, "finish_reason": "stop",
				"message": map[string]any{"role": "assistant", "content": answer}}},
		})
		return
	}
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-cache")
	flusher, _ := w.(http.Flusher)
	send := func(delta map[string]any, finish any) bool {
		b, _ := json.Marshal(map[string]any{
			"id": id, "object": "chat.completion.chunk", "created": time.Now().Unix(), "model": req.Model,
			"choices": []any{map[string]any{"index": 0, "delta": delta, "finish_reason": finish}},
		})
		if _, err := fmt.Fprintf(w, "data: %s\n\n", b); err != nil {
			return false
		}
		if flusher != nil {
			flusher.Flush()
		}
		return true
	}
	if !sleep(r, s.FirstToken) || !send(map[string]any{"role": "assistant", "content": ""}, nil) {
		return
	}
	for i, tok := range Tokens(answer) {
		if i > 0 && s.TokensPerSecond > 0 && !sleep(r, time.Duration(float64(time.Second)/s.TokensPerSecond)) {
			return
		}
		if !send(map[string]any{"content": tok}, nil) {
			return
		}
	}
	send(map[string]any{}, "stop")
	fmt.Fprint(w, "data: [DONE]\n\n")
	if flusher != nil {
		flusher.Flush()
	}
}

func sleep(r *http.Request, d time.Duration) bool {
	if d <= 0 {
		return true
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-r.Context().Done():
		return false
	}
}

// Tokens splits text the way the server streams it: one CJK rune or one
// space-led word per token.
func Tokens(s string) []string {
	var out []string
	var cur strings.Builder
	flush := func() {
		if cur.Len() > 0 {
			out = append(out, cur.String())
			cur.Reset()
		}
	}
	for _, r := range s {
		switch {
		case utf8.RuneLen(r) >= 3:
			flush()
			out = append(out, string(r))
		case r == ' ':
			flush()
			cur.WriteRune(r)
		default:
			cur.WriteRune(r)
		}
	}
	flush()
	return out
}

// speech answers /v1/audio/speech with a WAV of tones, one 80 ms burst per
// character of input, so that duration follows text length.
func (s *Server) speech(w http.ResponseWriter, r *http.Request) {
	if !s.authorized(w, r) {
		return
	}
	var req struct {
		Model          string  `json:"model"`
		Input          string  `json:"input"`
		Voice          string  `json:"voice"`
		ResponseFormat string  `json:"response_format"`
		Speed          float64 `json:"speed"`
	}
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<20)).Decode(&req); err != nil || req.Input == "" || req.Model == "" || req.Voice == "" {
		writeError(w, http.StatusBadRequest, "invalid_request_error", "model, input and voice are required")
		return
	}
	if req.ResponseFormat != "" && req.ResponseFormat != "wav" {
		writeError(w, http.StatusBadRequest, "invalid_request_error", "only wav is supported here")
		return
	}
	w.Header().Set("Content-Type", "audio/wav")
	_, _ = w.Write(ToneWAV(utf8.RuneCountInString(req.Input), 24000))
}

// ToneWAV returns a mono 16-bit WAV at rate with n 80 ms tone bursts
// separated by 40 ms of silence.
func ToneWAV(n, rate int) []byte {
	burst, gap := rate*80/1000, rate*40/1000
	samples := make([]int16, 0, n*(burst+gap))
	for i := 0; i < n; i++ {
		for j := 0; j < burst; j++ {
			samples = append(samples, int16(8000*math.Sin(2*math.Pi*220*float64(j)/float64(rate))))
		}
		samples = append(samples, make([]int16, gap)...)
	}
	return WAV(samples, rate, 1)
}

// WAV encodes 16-bit PCM samples.
func WAV(samples []int16, rate, channels int) []byte {
	data := len(samples) * 2
	b := make([]byte, 44+data)
	copy(b[0:], "RIFF")
	binary.LittleEndian.PutUint32(b[4:], uint32(36+data))
	copy(b[8:], "WAVEfmt ")
	binary.LittleEndian.PutUint32(b[16:], 16)
	binary.LittleEndian.PutUint16(b[20:], 1)
	binary.LittleEndian.PutUint16(b[22:], uint16(channels))
	binary.LittleEndian.PutUint32(b[24:], uint32(rate))
	binary.LittleEndian.PutUint32(b[28:], uint32(rate*channels*2))
	binary.LittleEndian.PutUint16(b[32:], uint16(channels*2))
	binary.LittleEndian.PutUint16(b[34:], 16)
	copy(b[36:], "data")
	binary.LittleEndian.PutUint32(b[40:], uint32(data))
	for i, s := range samples {
		binary.LittleEndian.PutUint16(b[44+2*i:], uint16(s))
	}
	return b
}
