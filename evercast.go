// Package evercast holds the domain of the Evercast digital-human livestream
// platform: merchants, anchors, products, sessions and the clips a session airs.
//
// The types here are plain data shared by every component (store, orchestrator,
// workers, playout, API). Behaviour lives in the component packages; only the
// wiring in internal/app imports more than one of them.
package evercast

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode"
)

// Sentinel errors. Components wrap them; the HTTP edge maps them to status codes.
var (
	// ErrNotFound means the named object does not exist (HTTP 404).
	ErrNotFound = errors.New("not found")
	// ErrConflict means the request clashes with the object's current state (HTTP 409).
	ErrConflict = errors.New("conflict")
	// ErrInvalid means the input failed validation (HTTP 400). Use *ValidationError
	// to name the field.
	ErrInvalid = errors.New("invalid input")
)

// ValidationError names the offending field of an input. It unwraps to ErrInvalid.
type ValidationError struct {
	Field   string
	Message string
}

func (e *ValidationError) Error() string { return e.Field + ": " + e.Message }

// Unwrap lets errors.Is(err, ErrInvalid) match.
func (e *ValidationError) Unwrap() error { return ErrInvalid }

// Invalid returns a *ValidationError for field.
func Invalid(field, format string, args ...any) error {
	return &ValidationError{Field: field, Message: fmt.Sprintf(format, args...)}
}

// Language is a BCP 47 primary language tag. Evercast voices and renders
// Mandarin ("zh") and English ("en").
type Language string

// Supported languages.
const (
	LangZH Language = "zh"
	LangEN Language = "en"
)

// Valid reports whether l is a supported language.
func (l Language) Valid() bool { return l == LangZH || l == LangEN }

// Languages lists the supported languages.
func Languages() []Language { return []Language{LangZH, LangEN} }

// Text is a string per language, for example {"zh": "龙井茶", "en": "Longjing tea"}.
type Text map[Language]string

// UnmarshalJSON accepts an object {"zh": "...", "en": "..."}, a plain string
// (filed under zh when it holds Han characters, else en), or an array of
// either (joined per language with "; ", the form list facts such as
// certifications take).
func (t *Text) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if len(b) == 0 || string(b) == "null" {
		*t = nil
		return nil
	}
	switch b[0] {
	case '"':
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*t = Text{guessLanguage(s): s}
		return nil
	case '[':
		var parts []Text
		if err := json.Unmarshal(b, &parts); err != nil {
			return err
		}
		out := Text{}
		for _, p := range parts {
			for l, s := range p {
				if out[l] != "" {
					out[l] += "; "
				}
				out[l] += s
			}
		}
		*t = out
		return nil
	}
	var m map[Language]string
	if err := json.Unmarshal(b, &m); err != nil {
		return fmt.Errorf("text: want a string or an object of languages: %w", err)
	}
	*t = Text(m)
	return nil
}

func guessLanguage(s string) Language {
	for _, r := range s {
		if unicode.Is(unicode.Han, r) {
			return LangZH
		}
	}
	return LangEN
}

// In returns the text in lang, falling back to Mandarin, then English, then any.
func (t Text) In(lang Language) string {
	if s := t[lang]; s != "" {
		return s
	}
	for _, l := range []Language{LangZH, LangEN} {
		if s := t[l]; s != "" {
			return s
		}
	}
	for _, s := range t {
		if s != "" {
			return s
		}
	}
	return ""
}

// Merchant is a seller who owns anchors, products and sessions.
type Merchant struct {
	ID        string    `json:"id"`
	Name      string    `json:"name"`
	CreatedAt time.Time `json:"created_at"`
}

// Voice selects the speech provider and voice of an anchor.
type Voice struct {
	// Provider is "espeak" (espeak-ng, the default) or "openai" (any
	// OpenAI-compatible /v1/audio/speech endpoint).
	Provider string `json:"provider"`
	// Name is the provider's voice: for espeak-ng a voice such as
	// "cmn-latn-pinyin" or "en-us"; for OpenAI a voice such as "alloy".
	Name string `json:"name,omitempty"`
	// Rate is the speaking rate in words per minute (espeak) or a speed factor
	// times 100 (openai); 0 means the provider's default.
	Rate int `json:"rate,omitempty"`
}

// Anchor is a virtual presenter: persona, language, voice and avatar.
type Anchor struct {
	ID         string    `json:"id"`
	MerchantID string    `json:"merchant_id"`
	Name       string    `json:"name"`
	Persona    string    `json:"persona"`
	Language   Language  `json:"language"`
	Voice      Voice     `json:"voice"`
	AvatarPack string    `json:"avatar_pack"`
	CreatedAt  time.Time `json:"created_at"`
	UpdatedAt  time.Time `json:"updated_at"`
}

// Validate checks the anchor's fields, naming the first bad one.
func (a *Anchor) Validate() error {
	a.Name = strings.TrimSpace(a.Name)
	switch {
	case a.MerchantID == "":
		return Invalid("merchant_id", "is required")
	case a.Name == "":
		return Invalid("name", "is required")
	case len(a.Name) > 100:
		return Invalid("name", "is longer than 100 bytes")
	case len(a.Persona) > 4000:
		return Invalid("persona", "is longer than 4000 bytes")
	case !a.Language.Valid():
		return Invalid("language", "must be one of zh, en")
	}
	switch a.Voice.Provider {
	case "":
		a.Voice.Provider = "espeak"
	case "espeak", "openai":
	default:
		return Invalid("voice.provider", "must be one of espeak, openai")
	}
	if a.Voice.Rate < 0 || a.Voice.Rate > 1000 {
		return Invalid("voice.rate", "must be between 0 and 1000")
	}
	if len(a.Voice.Name) > 64 || strings.ContainsAny(a.Voice.Name, " \t\n/\\") {
		return Invalid("voice.name", "must be a voice name without spaces or slashes")
	}
	if a.AvatarPack == "" {
		a.AvatarPack = DefaultAvatarPack
	}
	if !validSlug(a.AvatarPack) {
		return Invalid("avatar_pack", "must be a pack name of letters, digits, '-' and '_'")
	}
	return nil
}

// DefaultAvatarPack is the avatar pack shipped inside the binary.
const DefaultAvatarPack = "default"

func validSlug(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_') {
			return false
		}
	}
	return true
}
