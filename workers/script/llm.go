package script

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/evercast/evercast"
	"github.com/evercast/evercast/prompts"
	openai "github.com/sashabaranov/go-openai"
)

// LLM writes scripts with a chat model behind any OpenAI-compatible
// endpoint (OpenAI, DeepSeek, Qwen, vLLM, Ollama...), streaming the answer.
type LLM struct {
	client  *openai.Client
	model   string
	prompts *prompts.Set
	// OnSentence, when set, is called with each complete sentence as soon as
	// the stream has it, so that voicing can start before the model is done.
	OnSentence func(ctx context.Context, sentence string)
}

var _ Writer = (*LLM)(nil)

// LLMOptions configures the LLM writer.
type LLMOptions struct {
	BaseURL string
	APIKey  string
	Model   string
	Timeout time.Duration
	HTTP    *http.Client
}

// NewLLM returns a writer for the endpoint.
func NewLLM(opts LLMOptions, set *prompts.Set) (*LLM, error) {
	if opts.BaseURL == "" || opts.Model == "" {
		return nil, errors.New("llm writer: base URL and model are required")
	}
	cfg := openai.DefaultConfig(opts.APIKey)
	cfg.BaseURL = strings.TrimRight(opts.BaseURL, "/")
	hc := opts.HTTP
	if hc == nil {
		t := opts.Timeout
		if t == 0 {
			t = 60 * time.Second
		}
		hc = &http.Client{Timeout: t}
	}
	cfg.HTTPClient = hc
	return &LLM{client: openai.NewClientWithConfig(cfg), model: opts.Model, prompts: set}, nil
}

// ErrPermanent marks an endpoint answer that retrying will not change
// (bad credentials, unknown model, refused request).
var ErrPermanent = errors.New("llm: permanent error")

// Write streams a script from the model.
func (l *LLM) Write(ctx context.Context, r Request) (Script, error) {
	if r.Kind == evercast.KindSay {
		// The operator's words are aired as written; no model in between.
		return Offline{}.Write(ctx, r)
	}
	p, err := l.prompts.Render(prompts.SceneFor(r.Kind), prompts.Data{
		Anchor: anchorOrDefault(r.Anchor), Product: r.Product, Products: r.Products, Language: r.Language,
		Title: r.Title, Beat: r.Beat, Comment: r.Comment, Say: r.Say, Feedback: r.Feedback,
	})
	if err != nil {
		return Script{}, err
	}
	maxTokens := 160
	stream, err := l.client.CreateChatCompletionStream(ctx, openai.ChatCompletionRequest{
		Model: l.model,
		Messages: []openai.ChatCompletionMessage{
			{Role: openai.ChatMessageRoleSystem, Content: p.System},
			{Role: openai.ChatMessageRoleUser, Content: p.User},
		},
		//lint:ignore SA1019 max_tokens is what OpenAI-compatible servers (vLLM, Ollama, DeepSeek, Qwen) understand; max_completion_tokens is OpenAI's alone
		MaxTokens:   maxTokens,
		Temperature: 0.8,
		Stream:      true,
	})
	if err != nil {
		return Script{}, classify(err)
	}
	defer stream.Close()
	var all strings.Builder
	emitted := 0
	for {
		resp, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return Script{}, classify(err)
		}
		for _, c := range resp.Choices {
			all.WriteString(c.Delta.Content)
		}
		if l.OnSentence != nil {
			ss := Sentences(all.String())
			// All but the last sentence are complete.
			for ; emitted < len(ss)-1 && emitted < 2; emitted++ {
				l.OnSentence(ctx, Tidy(ss[emitted], 0))
			}
		}
	}
	text := Tidy(all.String(), 2)
	if text == "" {
		return Script{}, fmt.Errorf("llm: empty answer from %s", l.model)
	}
	return Script{Text: text, Writer: "llm:" + l.model}, nil
}

func anchorOrDefault(a *evercast.Anchor) *evercast.Anchor {
	if a != nil {
		return a
	}
	return &evercast.Anchor{Name: "Evercast"}
}

func classify(err error) error {
	var apiErr *openai.APIError
	if errors.As(err, &apiErr) {
		switch apiErr.HTTPStatusCode {
		case http.StatusBadRequest, http.StatusUnauthorized, http.StatusForbidden, http.StatusNotFound, http.StatusUnprocessableEntity:
			return fmt.Errorf("llm: %w: %v", ErrPermanent, err)
		}
	}
	var reqErr *openai.RequestError
	if errors.As(err, &reqErr) {
		switch reqErr.HTTPStatusCode {
		case http.StatusBadRequest, http.StatusUnauthorized, http.StatusForbidden, http.StatusNotFound:
			return fmt.Errorf("llm: %w: %v", ErrPermanent, err)
		}
	}
	return fmt.Errorf("llm: %w", err)
}

// Stream is an answer being written: its first sentence is available as
// soon as the model has written it, the rest when the model is done.
type Stream struct {
	first chan result
	rest  chan result
	model string
}

type result struct {
	text string
	err  error
}

// First blocks until the first sentence is complete (or the answer ended).
func (s *Stream) First(ctx context.Context) (Script, error) {
	select {
	case r := <-s.first:
		return Script{Text: r.text, Writer: "llm:" + s.model}, r.err
	case <-ctx.Done():
		return Script{}, ctx.Err()
	}
}

// Rest blocks until the answer is complete and returns what follows the
// first sentence (at most one more sentence), "" when nothing does.
func (s *Stream) Rest(ctx context.Context) (Script, error) {
	select {
	case r := <-s.rest:
		return Script{Text: r.text, Writer: "llm:" + s.model}, r.err
	case <-ctx.Done():
		return Script{}, ctx.Err()
	}
}

// Stream starts writing r and returns at once; see Stream. It lets a reply
// be voiced and rendered while the model is still writing its second
// sentence.
func (l *LLM) Stream(ctx context.Context, r Request) (*Stream, error) {
	p, err := l.prompts.Render(prompts.SceneFor(r.Kind), prompts.Data{
		Anchor: anchorOrDefault(r.Anchor), Product: r.Product, Products: r.Products, Language: r.Language,
		Title: r.Title, Beat: r.Beat, Comment: r.Comment, Say: r.Say, Feedback: r.Feedback,
	})
	if err != nil {
		return nil, err
	}
	st, err := l.client.CreateChatCompletionStream(ctx, openai.ChatCompletionRequest{
		Model: l.model,
		Messages: []openai.ChatCompletionMessage{
			{Role: openai.ChatMessageRoleSystem, Content: p.System},
			{Role: openai.ChatMessageRoleUser, Content: p.User},
		},
		//lint:ignore SA1019 max_tokens is what OpenAI-compatible servers understand (see Write)
		MaxTokens: 160, Temperature: 0.7, Stream: true,
	})
	if err != nil {
		return nil, classify(err)
	}
	s := &Stream{first: make(chan result, 1), rest: make(chan result, 1), model: l.model}
	go func() {
		defer st.Close()
		var all strings.Builder
		sentFirst := false
		finish := func(err error) {
			text := Tidy(all.String(), 2)
			ss := Sentences(text)
			if !sentFirst {
				first := ""
				if len(ss) > 0 {
					first = ss[0]
				}
				if err == nil && first == "" {
					err = fmt.Errorf("llm: empty answer from %s", l.model)
				}
				s.first <- result{text: first, err: err}
			}
			rest := ""
			if len(ss) > 1 {
				rest = ss[1]
			}
			s.rest <- result{text: rest, err: err}
		}
		for {
			resp, err := st.Recv()
			if errors.Is(err, io.EOF) {
				finish(nil)
				return
			}
			if err != nil {
				finish(classify(err))
				return
			}
			for _, c := range resp.Choices {
				all.WriteString(c.Delta.Content)
			}
			if !sentFirst {
				cur := Tidy(all.String(), 0)
				ss := Sentences(cur)
				// A sentence is done once the next one starts, or at a
				// terminator that cannot be a decimal point.
				if len(ss) > 1 || len(ss) == 1 && strings.ContainsAny(lastRune(cur), "。！？!?") {
					s.first <- result{text: ss[0]}
					sentFirst = true
				}
			}
		}
	}()
	return s, nil
}

func lastRune(s string) string {
	r, _ := utf8.DecodeLastRuneInString(s)
	return string(r)
}
