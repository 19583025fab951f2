package moderation

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"
	"unicode"

	"github.com/evercast/evercast"
	"github.com/evercast/evercast/internal/claims"
)

// checker verifies every composed answer; it is immutable once built.
var checker = sync.OnceValue(func() *claims.Checker { return claims.New(claims.Options{}) })

// factKeys are the catalog facts that answer each intent, in order of
// preference.
var factKeys = map[string][]string{
	IntentSize:     {"size", "dimensions", "weight", "volume", "net_content", "capacity"},
	IntentMaterial: {"material", "ingredients", "fabric", "composition"},
	IntentShipping: {"shipping", "delivery", "returns"},
	IntentUsage:    {"usage", "how_to_use", "directions", "instructions", "care", "storage", "shelf_life"},
}

var labels = map[string][2]string{ // zh, en
	IntentSize:     {"规格", "size"},
	IntentMaterial: {"材质和成分", "material and ingredients"},
	IntentShipping: {"发货信息", "shipping"},
	IntentUsage:    {"用法", "usage"},
	IntentOrigin:   {"产地", "origin"},
	IntentPrice:    {"价格", "price"},
	IntentStock:    {"库存", "stock"},
}

// Answer composes what the anchor says in reply, only from catalog facts
// about the product the comment names (by SKU or title), else about current.
// When the catalog lacks the fact it says so and offers the price instead;
// to "are you a real person?" it says that the anchor is an AI-generated
// digital human. Every reply is checked with the claims checker before it
// is returned, and a reply that fails is replaced by a neutral one, so
// Answer never voices a number or fact that is not in the catalog. It
// returns "" for a decision that is not answer or greet.
func Answer(products []*evercast.Product, current *evercast.Product, d Decision, c Comment, lang evercast.Language) string {
	if !lang.Valid() {
		lang = guessLang(c.Text)
	}
	zh := lang == evercast.LangZH
	if d.Action != ActionAnswer && d.Action != ActionGreet {
		return ""
	}
	switch d.Intent {
	case IntentGreeting, "":
		if d.Action == ActionGreet || d.Intent == IntentGreeting {
			return pick(zh, "欢迎来到直播间！我是AI生成的数字人主播，有问题随时问我。",
				"Welcome to the live room! I'm an AI-generated digital human anchor; ask me anything about the products.")
		}
	case IntentHuman:
		return pick(zh, "我不是真人，是AI生成的数字人主播。商品信息都来自商家提供的资料，有问题随时问我。",
			"I'm not a real person: I'm an AI-generated digital human anchor. Product details come from the merchant's catalog.")
	}
	p := namedProduct(products, d.SKU, capRunes(c.Text, MaxRunes))
	if p == nil {
		p = current
	}
	if p == nil {
		return whichProduct(products, lang)
	}
	for _, cand := range compose(p, d.Intent, lang) {
		if verified(cand, p, products, lang) {
			return cand
		}
	}
	return fallback(zh)
}

func pick(zh bool, a, b string) string {
	if zh {
		return a
	}
	return b
}

func guessLang(s string) evercast.Language {
	for _, r := range s {
		if unicode.Is(unicode.Han, r) {
			return evercast.LangZH
		}
	}
	return evercast.LangEN
}

func fallback(zh bool) string {
	return pick(zh, "这个问题我暂时无法回答，请以商品详情页为准。",
		"I can't answer that right now; please check the product page for details.")
}

func verified(text string, p *evercast.Product, products []*evercast.Product, lang evercast.Language) bool {
	return checker().Check(claims.Input{Lang: lang, Text: text, Product: p, Catalog: products}).OK
}

func whichProduct(products []*evercast.Product, lang evercast.Language) string {
	zh := lang == evercast.LangZH
	var titles []string
	for _, p := range products {
		if p != nil && len(titles) < 5 {
			titles = append(titles, p.Title.In(lang))
		}
	}
	if len(titles) > 0 {
		cand := pick(zh, "您想了解哪件商品呢？我们有："+strings.Join(titles, "、")+"。",
			"Which product would you like to know about? We have: "+strings.Join(titles, ", ")+".")
		if verified(cand, nil, nil, lang) {
			return cand
		}
	}
	return pick(zh, "您想了解哪件商品呢？请告诉我商品名称。", "Which product would you like to know about? Please tell me its name.")
}

// amount renders a price the way the checker reads it back.
func amount(m evercast.Money, currency string, zh bool) string {
	switch {
	case currency == "CNY" && zh:
		return m.Spoken() + "元"
	case currency == "CNY":
		return m.Spoken() + " yuan"
	case currency == "USD" && zh:
		return m.Spoken() + "美元"
	case currency == "USD":
		return m.Spoken() + " dollars"
	}
	return m.Spoken() + " " + currency
}

// compose returns the candidate replies for an intent, the most informative
// first; Answer speaks the first that passes the checker.
func compose(p *evercast.Product, intent string, lang evercast.Language) []string {
	zh := lang == evercast.LangZH
	title := strings.TrimSpace(p.Title.In(lang))
	cur := p.Currency
	if cur == "" {
		cur = "CNY"
	}
	price := amount(p.Price, cur, zh)
	offer := amount(p.Offer(), cur, zh)
	priceLine := pick(zh, title+"的价格是"+price+"。", title+" is priced at "+price+".")
	if p.PromoPrice != nil {
		priceLine = pick(zh, title+"的价格是"+price+"，现在的促销价是"+offer+"。",
			title+" is priced at "+price+", and the promotion price now is "+offer+".")
	}
	unknown := func(label [2]string) []string {
		return []string{
			pick(zh, "商家资料里没有"+title+"的"+label[0]+"信息，我不乱说。"+priceLine,
				"The merchant's catalog does not list the "+label[1]+" of "+title+", so I won't guess. "+priceLine),
			pick(zh, "商家资料里没有这件商品的"+label[0]+"信息，我不乱说。",
				"The merchant's catalog does not list the "+label[1]+" of this product, so I won't guess."),
		}
	}
	var out []string
	switch intent {
	case IntentPrice:
		out = append(out, priceLine)
	case IntentStock:
		if p.Stock > 0 {
			out = append(out, pick(zh, fmt.Sprintf("%s目前库存%d件。", title, p.Stock),
				fmt.Sprintf("%s: %d in stock right now.", title, p.Stock)))
		} else {
			out = append(out, pick(zh, title+"目前没有库存了。", title+" is out of stock right now."))
		}
	case IntentOrigin:
		if o := strings.TrimSpace(p.Origin.In(lang)); o != "" {
			out = append(out, pick(zh, title+"的产地是"+o+"。", "The origin of "+title+" is "+o+"."))
		} else {
			out = append(out, unknown(labels[IntentOrigin])...)
		}
	case IntentSize, IntentMaterial, IntentShipping, IntentUsage:
		var parts []string
		for _, k := range factKeys[intent] {
			if v := strings.TrimSpace(p.Facts[k].In(lang)); v != "" {
				parts = append(parts, v)
			}
		}
		label := labels[intent]
		if len(parts) > 0 {
			out = append(out, pick(zh, title+"的"+label[0]+"："+strings.Join(parts, "；")+"。",
				"The "+label[1]+" of "+title+": "+strings.Join(parts, "; ")+"."))
		}
		out = append(out, unknown(label)...)
	default:
		return nil
	}
	return out
}

// ModerateRequest is one input line of RunModerate.
type ModerateRequest struct {
	ID   string `json:"id"`
	Lang string `json:"lang"`
	Text string `json:"text"`
	User string `json:"user,omitempty"`
	At   string `json:"at,omitempty"`
}

// ModerateResponse is one output line of RunModerate. Answer is set only when
// answers were asked for and the action is answer or greet.
type ModerateResponse struct {
	ID     string `json:"id"`
	Action string `json:"action"` // answer, greet, ignore; "error" for a malformed line
	Reason string `json:"reason"`
	Answer string `json:"answer,omitempty"`
}

// maxLine bounds one input line of RunModerate.
const maxLine = 1 << 20

// RunModerate reads viewer comments as JSON lines {"id","lang","text"} from
// in and writes one line {"id","action","reason"} per comment to out, plus
// "answer" with the reply text when answer is true and the action is answer
// or greet. Answers are about the product a comment names, else about the
// catalog's only product. A malformed line yields {"id","action":"error",
// "reason"} and processing goes on. It returns ctx's error when ctx ends, and
// read and write errors.
func RunModerate(ctx context.Context, catalog []*evercast.Product, answer bool, in io.Reader, out io.Writer) error {
	var current *evercast.Product
	if len(catalog) == 1 {
		current = catalog[0]
	}
	w := bufio.NewWriter(out)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	r := bufio.NewReaderSize(in, 64<<10)
	for n := 1; ; n++ {
		if err := ctx.Err(); err != nil {
			_ = w.Flush()
			return err
		}
		line, tooLong, err := readLine(r)
		if err != nil && !errors.Is(err, io.EOF) {
			_ = w.Flush()
			return fmt.Errorf("moderate: read line %d: %w", n, err)
		}
		if strings.TrimSpace(string(line)) != "" || tooLong {
			resp := moderateLine(catalog, current, answer, line, tooLong, n)
			if werr := enc.Encode(resp); werr != nil {
				return fmt.Errorf("moderate: write: %w", werr)
			}
		}
		if errors.Is(err, io.EOF) {
			break
		}
	}
	if err := w.Flush(); err != nil {
		return fmt.Errorf("moderate: write: %w", err)
	}
	return nil
}

func readLine(r *bufio.Reader) (line []byte, tooLong bool, err error) {
	for {
		frag, isPrefix, err := r.ReadLine()
		if len(line)+len(frag) > maxLine {
			tooLong = true
		} else {
			line = append(line, frag...)
		}
		if err != nil || !isPrefix {
			return line, tooLong, err
		}
	}
}

func moderateLine(catalog []*evercast.Product, current *evercast.Product, answer bool, line []byte, tooLong bool, n int) ModerateResponse {
	if tooLong {
		return ModerateResponse{ID: fmt.Sprintf("line %d", n), Action: "error", Reason: fmt.Sprintf("line longer than %d bytes", maxLine)}
	}
	var req ModerateRequest
	if err := json.Unmarshal(line, &req); err != nil {
		return ModerateResponse{Action: "error", Reason: "malformed JSON: " + err.Error()}
	}
	lang := evercast.Language(req.Lang)
	if req.Lang == "" {
		lang = guessLang(req.Text)
	}
	if !lang.Valid() {
		return ModerateResponse{ID: req.ID, Action: "error", Reason: fmt.Sprintf("lang %q must be one of zh, en", req.Lang)}
	}
	c := Comment{ID: req.ID, User: req.User, Text: req.Text}
	if t, err := time.Parse(time.RFC3339, req.At); err == nil {
		c.At = t
	}
	d := ClassifyFor(catalog, c, lang)
	resp := ModerateResponse{ID: req.ID, Action: d.Action, Reason: d.Reason}
	if answer && (d.Action == ActionAnswer || d.Action == ActionGreet) {
		resp.Answer = Answer(catalog, current, d, c, lang)
	}
	return resp
}
