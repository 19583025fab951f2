// Package prompts holds the LLM prompt templates, one per scene and
// language, embedded in the binary. Every prompt carries the guardrails: the
// anchor is an AI, speaks only from the catalog facts it is given, makes no
// absolute, efficacy, price, scarcity or sales claim beyond them.
package prompts

import (
	"bytes"
	"embed"
	"fmt"
	"strings"
	"text/template"

	"github.com/evercast/evercast"
)

//go:embed templates/*.tmpl
var files embed.FS

// Scenes with a template.
const (
	SceneOpening    = "opening"
	ScenePitch      = "pitch"
	ScenePromotion  = "promotion"
	SceneDisclosure = "disclosure"
	SceneQA         = "qa"
	SceneSay        = "say"
	SceneClosing    = "closing"
	SceneStandby    = "standby"
)

// SceneFor maps a clip kind to its prompt scene.
func SceneFor(k evercast.ClipKind) string {
	switch k {
	case evercast.KindReply:
		return SceneQA
	default:
		return string(k)
	}
}

// Data is what a template can use.
type Data struct {
	Anchor   *evercast.Anchor
	Product  *evercast.Product
	Products []*evercast.Product
	Language evercast.Language
	Title    string
	// Beat is the clip's angle on the product: 0 introduction, 1.. selling
	// points and facts.
	Beat int
	// Comment is the viewer comment a reply answers; Say the operator's text.
	Comment  string
	Say      string
	Feedback []string
}

// Prompt is a rendered chat prompt.
type Prompt struct {
	System string
	User   string
}

// Set is the parsed template set.
type Set struct{ t *template.Template }

// Load parses the embedded templates.
func Load() (*Set, error) {
	t, err := template.New("").Funcs(template.FuncMap{
		"in":    func(t evercast.Text, l evercast.Language) string { return t.In(l) },
		"money": func(m evercast.Money) string { return m.Spoken() },
		"join":  strings.Join,
	}).ParseFS(files, "templates/*.tmpl")
	if err != nil {
		return nil, fmt.Errorf("prompts: %w", err)
	}
	return &Set{t: t}, nil
}

// Render builds the prompt of a scene in a language.
func (s *Set) Render(scene string, d Data) (Prompt, error) {
	if !d.Language.Valid() {
		return Prompt{}, fmt.Errorf("prompts: unsupported language %q", d.Language)
	}
	var sys, user bytes.Buffer
	if err := s.t.ExecuteTemplate(&sys, "system."+string(d.Language), d); err != nil {
		return Prompt{}, fmt.Errorf("prompts: system %s: %w", d.Language, err)
	}
	name := scene + "." + string(d.Language)
	if s.t.Lookup(name) == nil {
		return Prompt{}, fmt.Errorf("prompts: no template for scene %q in %s", scene, d.Language)
	}
	if err := s.t.ExecuteTemplate(&user, name, d); err != nil {
		return Prompt{}, fmt.Errorf("prompts: %s: %w", name, err)
	}
	return Prompt{System: strings.TrimSpace(sys.String()), User: strings.TrimSpace(user.String())}, nil
}
