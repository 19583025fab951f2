package claims

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// ruleFacts judges origin, material, ingredient, certification, shipping
// and size claims against the catalog. It judges only what it recognises.
func (c *Checker) ruleFacts(s *sentence) *violation {
	for _, f := range []func(*sentence) *violation{c.factOrigin, c.factSubstances, c.factCerts, c.factShipping, c.factSize} {
		if v := f(s); v != nil {
			return v
		}
	}
	return nil
}

var nounOrigin = map[string]bool{"产地": true, "原产地": true, "生产地": true}

var weakOrigin = map[string]bool{"来自": true, "源自": true, "from": true, "comes from": true, "come from": true}

func (c *Checker) originText(s *sentence) string {
	if s.product == nil {
		return ""
	}
	return Normalize(s.product.Origin["zh"] + " ; " + s.product.Origin["en"]).Text
}

// placeAgrees reports whether the claimed gazetteer place agrees with the
// product's origin text: the origin names it or a place inside it.
func (c *Checker) placeAgrees(claimed, origin string) bool {
	p := c.places.places[claimed]
	if p != nil && containsAny(origin, p.names) {
		return true
	}
	for _, h := range c.places.terms.find(origin) {
		if c.places.within(h.group, claimed) {
			return true
		}
	}
	return false
}

func (c *Checker) factOrigin(s *sentence) *violation {
	t := s.text
	origin := c.originText(s)
	judge := func(trigger string, xi, xj int) *violation {
		x := t[xi:xj]
		places := c.places.terms.find(x)
		if len(places) == 0 && weakOrigin[trigger] {
			return nil
		}
		s.claim(xi, xj)
		if s.product == nil || strings.Trim(origin, " ;") == "" {
			return &violation{CategoryFact, xi, xj, fmt.Sprintf("origin %q cannot be checked: the catalog states no origin", x)}
		}
		if len(places) == 0 {
			if strings.Contains(origin, x) {
				return nil
			}
			for _, part := range splitList(strings.ReplaceAll(origin, " ", ";")) {
				if utf8.RuneCountInString(part) >= 2 && strings.Contains(x, part) {
					return nil
				}
			}
			return &violation{CategoryFact, xi, xj, fmt.Sprintf("origin %q does not match the catalog's origin", x)}
		}
		for _, h := range places {
			if !c.placeAgrees(h.group, origin) {
				return &violation{CategoryFact, xi + h.i, xi + h.j, fmt.Sprintf("origin %q does not match the catalog's origin", x[h.i:h.j])}
			}
		}
		return nil
	}
	for _, loc := range c.reOriginZH.FindAllStringSubmatchIndex(t, -1) {
		xi, xj := loc[4], loc[5]
		x := t[xi:xj]
		// stop at particles and verbs that end the place name
		if k := strings.IndexAny(x, "的 这那和与及等啊呢哦吧呀"); k >= 0 {
			xj = xi + k
		}
		if n := utf8.RuneCountInString(t[xi:xj]); n == 0 {
			continue
		} else if n > 8 {
			xj = xi + len(nextRunes(t, xi, 8))
		}
		trigger := t[loc[2]:loc[3]]
		if nounOrigin[trigger] && strings.TrimSpace(t[loc[3]:loc[4]]) == "" && len(c.places.terms.find(t[xi:xj])) == 0 {
			continue // 产地信息, 原产地证明: the noun without "是/为/:" names no place
		}
		if v := judge(trigger, xi, xj); v != nil {
			return v
		}
	}
	stop := map[string]bool{"and": true, "with": true, "by": true, "for": true, "is": true, "to": true, "at": true,
		"in": true, "on": true, "the": true, "our": true, "your": true, "this": true, "that": true, "it": true,
		"we": true, "you": true, "a": true, "an": true, "of": true, "which": true, "where": true, "since": true}
	for _, loc := range c.reOriginEN.FindAllStringSubmatchIndex(t, -1) {
		xi, xj := loc[4], loc[5]
		words := strings.Fields(strings.TrimRight(t[xi:xj], ". "))
		end := xi
		for k, w := range words {
			if k >= 4 || stop[w] {
				break
			}
			end = strings.Index(t[end:], w) + end + len(w)
		}
		if end == xi {
			continue
		}
		if v := judge(t[loc[2]:loc[3]], xi, end); v != nil {
			return v
		}
	}
	return nil
}

var (
	substanceContextBefore = []string{"材质", "面料", "用料", "采用", "选用", "材料", "成分", "含有", "含", "富含", "添加",
		"加入", "蕴含", "萃取", "配方", "纯", "全", "真", "100%", "是", "由", "内胆", "填充", "主料", "原料", "精选",
		"made of", "made from", "crafted from", "material", "materials", "fabric", "pure", "genuine", "real",
		"solid", "contains", "containing", "enriched with", "rich in", "infused with", "made with", "ingredients",
		"ingredient", "formula", "filled with", "full of", "packed with", "with real"}
	substanceContextAfter = []string{"材质", "面料", "制成", "制作", "打造", "做的", "材料", "成分", "精华", "含量", "填充",
		"fabric", "material", "construction", "lining", "filling", "extract", "based", "-based"}
	absenceBefore = []string{"不含", "无添加", "无", "0添加", "零添加", "不添加", "没有添加", "没有", "不是", "非", "零", "0",
		"no", "free of", "free from", "without", "zero", "not"}
	absenceAfter = []string{"-free", " free", "free"}
)

func endsWithAny(s string, words []string) bool {
	for _, w := range words {
		if strings.HasSuffix(s, w) {
			if isASCIILetter(rune(w[0])) && len(s) > len(w) && isASCIIAlnum(rune(s[len(s)-len(w)-1])) {
				continue
			}
			return true
		}
	}
	return false
}

func startsWithAny(s string, words []string) bool {
	for _, w := range words {
		if strings.HasPrefix(s, w) {
			return true
		}
	}
	return false
}

// factSubstances judges materials and ingredients mentioned in a material or
// ingredient context.
func (c *Checker) factSubstances(s *sentence) *violation {
	t := s.text
	for _, h := range c.substances.find(t) {
		if s.judged(h.i, h.j) {
			continue
		}
		before := strings.TrimRight(t[clauseStart(t, h.i):h.i], " ")
		after := t[h.j:min(len(t), h.j+16)]
		absent := endsWithAny(before, absenceBefore) || startsWithAny(after, absenceAfter)
		near := lastRunes(before, len(before), 16)
		if !absent && !containsAny(near, substanceContextBefore) &&
			!startsWithAny(strings.TrimLeft(after, " "), substanceContextAfter) {
			continue
		}
		s.claim(h.i, h.j)
		terms := c.subGroups[h.group]
		if s.product == nil {
			return &violation{CategoryFact, h.i, h.j, fmt.Sprintf("%q cannot be checked: no catalog product", h.term)}
		}
		if absent {
			if c.absenceBacked(s, terms) {
				continue
			}
			return &violation{CategoryFact, h.i, h.j, fmt.Sprintf("the catalog does not state that the product is free of %q", h.term)}
		}
		if !containsAny(s.facts, terms) {
			return &violation{CategoryFact, h.i, h.j, fmt.Sprintf("%q is not among the product's stated materials or ingredients", h.term)}
		}
	}
	return nil
}

// absenceBacked reports whether the catalog states that the product is free
// of a substance, or lists its materials or ingredients without it.
func (c *Checker) absenceBacked(s *sentence, terms []string) bool {
	for _, pre := range []string{"无", "不含", "0", "零", "no ", "free of ", "without ", "0 "} {
		if containsAny(s.facts, prefixed([]string{pre}, terms)) {
			return true
		}
	}
	for _, t := range terms {
		if strings.Contains(s.facts, t+"-free") || strings.Contains(s.facts, t+" free") {
			return true
		}
	}
	list := factText(s.product, "ingredients") + " ; " + factText(s.product, "material")
	return strings.Trim(list, " ;") != "" && !containsAny(list, terms)
}

func (c *Checker) factCerts(s *sentence) *violation {
	t := s.text
	for _, h := range c.certs.find(t) {
		if s.judged(h.i, h.j) || c.negated(t, h.i) {
			continue
		}
		s.claim(h.i, h.j)
		if !containsAny(s.facts, c.certGroups[h.group]) {
			return &violation{CategoryFact, h.i, h.j, fmt.Sprintf("certification %q is not among the product's facts", h.term)}
		}
	}
	return nil
}

var dispatchUnits = map[string][]string{
	"hour": {"小时", "h", "hour", "hours"},
	"day":  {"天", "日", "day", "days", "工作日", "business days"},
}

func unitClass(u string) string {
	for k, us := range dispatchUnits {
		for _, x := range us {
			if x == u {
				return k
			}
		}
	}
	return ""
}

func (c *Checker) factShipping(s *sentence) *violation {
	t := s.text
	ship := factText(s.product, "shipping")
	corpus := s.facts
	for _, h := range c.shipping.find(t) {
		if s.judged(h.i, h.j) || c.negated(t, h.i) {
			continue
		}
		s.claim(h.i, h.j)
		if !containsAny(corpus, c.shipGroups[h.group]) {
			return &violation{CategoryFact, h.i, h.j, fmt.Sprintf("shipping promise %q is not among the product's facts", h.term)}
		}
	}
	for _, loc := range c.reDispatch.FindAllStringSubmatchIndex(t, -1) {
		i, j := loc[0], loc[1]
		if s.judged(i, j) {
			continue
		}
		n, ok := parseNumber(t[loc[2]:loc[3]])
		if !ok {
			continue
		}
		s.claim(i, j)
		class := unitClass(t[loc[4]:loc[5]])
		if !c.corpusHasQuantity(ship+" ; "+corpus, n, dispatchUnits[class]) {
			return &violation{CategoryFact, i, j, fmt.Sprintf("dispatch promise %q is not among the product's shipping facts", t[i:j])}
		}
	}
	for _, loc := range c.reFee.FindAllStringSubmatchIndex(t, -1) {
		i, j := loc[0], loc[1]
		n, ok := parseNumber(t[loc[2]:loc[3]])
		if !ok {
			continue
		}
		s.claim(i, j)
		if n == 0 {
			if !containsAny(corpus, c.shipGroups["free"]) {
				return &violation{CategoryFact, i, j, "free shipping is not among the product's facts"}
			}
			continue
		}
		if !c.corpusHasQuantity(ship, n, nil) {
			return &violation{CategoryFact, i, j, fmt.Sprintf("shipping fee %q is not among the product's shipping facts", t[i:j])}
		}
	}
	return nil
}

// corpusHasQuantity reports whether text states the number n (hundredths),
// followed by one of units when units is not empty.
func (c *Checker) corpusHasQuantity(text string, n int64, units []string) bool {
	for _, loc := range c.reNum.FindAllStringIndex(text, -1) {
		v, ok := parseNumber(text[loc[0]:loc[1]])
		if !ok || v != n {
			continue
		}
		if len(units) == 0 {
			return true
		}
		if startsWithAny(strings.TrimLeft(text[loc[1]:], " "), units) {
			return true
		}
	}
	return false
}

// sizeUnits maps a unit to its dimension and its factor to the base unit.
var sizeUnits = map[string]struct {
	dim    string
	factor float64
}{
	"毫升": {"volume", 1}, "ml": {"volume", 1}, "升": {"volume", 1000}, "l": {"volume", 1000},
	"千克": {"mass", 1000}, "公斤": {"mass", 1000}, "kg": {"mass", 1000}, "毫克": {"mass", 0.001},
	"mg": {"mass", 0.001}, "克": {"mass", 1}, "g": {"mass", 1}, "斤": {"mass", 500},
	"厘米": {"length", 1}, "cm": {"length", 1}, "毫米": {"length", 0.1}, "mm": {"length", 0.1},
	"米": {"length", 100}, "meter": {"length", 100}, "meters": {"length", 100}, "metre": {"length", 100},
	"metres": {"length", 100}, "英寸": {"length", 2.54}, "inch": {"length", 2.54}, "inches": {"length", 2.54},
	"寸": {"screen", 1}, "mah": {"charge", 1}, "毫安": {"charge", 1}, "瓦": {"power", 1}, "w": {"power", 1},
	"伏": {"voltage", 1}, "v": {"voltage", 1}, "码": {"shoe", 1},
}

// sizeContext are the words that make a quantity a claim about the product.
var sizeContext = []string{"规格", "净含量", "含量", "容量", "重量", "尺寸", "尺码", "衣长", "裤长", "长度", "宽度",
	"高度", "直径", "长", "宽", "高", "厚", "重", "装", "一盒", "每盒", "一瓶", "每瓶", "一袋", "每袋", "一罐", "每罐",
	"一包", "每包", "电池", "功率", "电压", "屏", "码", "这款", "这盒", "这瓶", "这包", "这件", "一共", "整整", "足足",
	"size", "net", "capacity", "weight", "weighs", "length", "long", "wide", "tall", "high", "volume", "battery",
	"output", "power", "screen", "holds", "bottle", "pack", "box", "jar", "bag", "tin", "each", "whole"}

type quantity struct {
	dim string
	v   float64
}

func (c *Checker) quantities(text string, skip func(i, j int) bool) []struct {
	q    quantity
	i, j int
} {
	var out []struct {
		q    quantity
		i, j int
	}
	for _, loc := range c.reSize.FindAllStringSubmatchIndex(text, -1) {
		i, j := loc[0], loc[1]
		unit := text[loc[4]:loc[5]]
		if isASCIILetter(rune(unit[0])) && loc[5] < len(text) && isASCIIAlnum(rune(text[loc[5]])) {
			continue // "5 grams" is read by its own unit; "2 layers" is not a size
		}
		if skip != nil && skip(i, j) {
			continue
		}
		n, ok := parseNumber(text[loc[2]:loc[3]])
		if !ok {
			continue
		}
		u := sizeUnits[unit]
		out = append(out, struct {
			q    quantity
			i, j int
		}{quantity{u.dim, float64(n) / 100 * u.factor}, i, j})
	}
	return out
}

func (c *Checker) factSize(s *sentence) *violation {
	claimed := c.quantities(s.text, s.judged)
	if len(claimed) == 0 {
		return nil
	}
	stated := c.quantities(s.facts, nil)
	for _, cl := range claimed {
		clause := s.text[clauseStart(s.text, cl.i):cl.j] + nextRunes(s.text, cl.j, 12)
		if !containsAny(clause, sizeContext) {
			continue // "泡2分钟, 3克茶": a usage amount, not a claim about the product
		}
		s.claim(cl.i, cl.j)
		ok := false
		for _, st := range stated {
			if st.q.dim == cl.q.dim && abs(st.q.v-cl.q.v) <= 0.005*st.q.v+1e-9 {
				ok = true
				break
			}
		}
		if !ok {
			return &violation{CategoryFact, cl.i, cl.j, fmt.Sprintf("size %q is not among the product's facts", s.text[cl.i:cl.j])}
		}
	}
	return nil
}

func abs(f float64) float64 {
	if f < 0 {
		return -f
	}
	return f
}
