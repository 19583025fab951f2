package claims

import (
	"fmt"
	"regexp"
	"strings"
	"unicode/utf8"
)

// ruleFacts judges origin, material, ingredient, certification, shipping
// and size claims against the catalog. It judges only what it recognises.
func (c *Checker) ruleFacts(s *sentence) *violation {
	for _, f := range []func(*sentence) *violation{c.factOrigin, c.factSubstances, c.factExtracts, c.factCerts, c.factShipping, c.factSize} {
		if v := f(s); v != nil {
			return v
		}
	}
	return nil
}

var nounOrigin = map[string]bool{"产地": true, "原产地": true, "生产地": true}

// originSuffixes make the place before them an origin claim.
var originSuffixes = []string{"原装进口", "进口", "原装", "产的", "出产", "生产", "制造", "设计", "产"}

// substanceAfter reports whether a material or ingredient starts at byte j
// or one Han character or English word later: "新疆棉", "东北黑蜂蜜",
// "Korean red ginseng".
func substanceAfter(t string, j int, subs []hit) bool {
	for _, sb := range subs {
		if sb.i < j {
			continue
		}
		gap := t[j:sb.i]
		if strings.ContainsAny(gap, clauseSeparators+".") {
			continue
		}
		if g := strings.TrimSpace(gap); utf8.RuneCountInString(g) <= 1 || !strings.Contains(g, " ") && isASCIILetter(rune(g[0])) {
			return true
		}
	}
	return false
}

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
	// A place followed by 进口, 原装, 产的, "-made" ("新西兰进口", "日本原装进口",
	// "Swiss-made"), or naming a material or ingredient ("新疆棉", "Italian
	// silk", "东北黑蜂蜜"). A place inside a catalog title or a substance
	// name ("西湖龙井绿茶", "American ginseng") is not a claim.
	subs := c.substances.find(t)
	for _, h := range c.places.terms.find(t) {
		if s.judged(h.i, h.j) || covered(h.i, h.j, subs) || covered(h.i, h.j, s.titles) {
			continue
		}
		end := h.j
		switch {
		case startsWithAny(t[h.j:], originSuffixes):
			for _, sfx := range originSuffixes {
				if strings.HasPrefix(t[h.j:], sfx) {
					end = h.j + len(sfx)
					break
				}
			}
		case startsWithAny(t[h.j:], []string{"-made", " made", "-grown", " grown", " design", "-designed"}):
		case substanceAfter(t, h.j, subs):
		default:
			continue
		}
		if v := judge("产自", h.i, h.j); v != nil {
			return v
		}
		s.claim(h.i, end)
	}
	// 进口 or "imported" without a place: the product (or part of it) comes
	// from abroad, which the catalog must say.
	for _, w := range []string{"进口", "imported"} {
		for off := 0; ; {
			k := strings.Index(t[off:], w)
			if k < 0 {
				break
			}
			k += off
			off = k + len(w)
			if s.judged(k, k+len(w)) || c.negated(t, k) || w == "imported" && strings.HasPrefix(t[k+len(w):], " from") {
				continue
			}
			s.claim(k, k+len(w))
			if s.product == nil || !(strings.Trim(origin, " ;") != "" && !c.placeAgrees("中国", origin) || containsAny(s.facts, []string{"进口", "imported"})) {
				return &violation{CategoryFact, k, k + len(w), fmt.Sprintf("%q: the catalog does not say the product or its parts are imported", w)}
			}
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
		"ingredient", "formula", "filled with", "full of", "packed with", "with real", "added", "with added"}
	substanceContextAfter = []string{"材质", "面料", "制成", "制作", "打造", "做的", "材料", "成分", "精华", "含量", "填充",
		"fabric", "material", "construction", "lining", "filling", "extract", "based", "-based", "blend"}
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
			!startsWithAny(strings.TrimLeft(after, " "), substanceContextAfter) && !c.placeBefore(before) &&
			!c.rePercentBefore.MatchString(before) {
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
		if loc := c.rePercentBefore.FindStringSubmatch(before); loc != nil && loc[1] != "100" && !c.shareBacked(s, terms, loc[1]) {
			return &violation{CategoryFact, h.i, h.j, fmt.Sprintf("the catalog does not state %s%% %q", loc[1], h.term)}
		}
		if pure := endsWithAny(before, purityBefore) || startsWithAny(h.term, []string{"纯", "全", "足"}); pure && !c.pureBacked(s, h.group) {
			return &violation{CategoryFact, h.i, h.j, fmt.Sprintf("the catalog does not state that the product is pure %q", h.term)}
		}
	}
	return nil
}

// placeBefore reports whether before ends with a place name, perhaps
// followed by one Han character: "新疆棉", "长白山人参", "东北黑蜂蜜".
func (c *Checker) placeBefore(before string) bool {
	tail := lastRunes(before, len(before), 12)
	for _, h := range c.places.terms.find(tail) {
		rest := strings.TrimSpace(tail[h.j:])
		if utf8.RuneCountInString(rest) <= 1 && (rest == "" || !isASCIILetter(rune(rest[0]))) ||
			!strings.Contains(rest, " ") && rest != "" && isASCIILetter(rune(rest[0])) {
			return true
		}
	}
	return false
}

// shareBacked reports whether the facts state the share pct (a decimal
// string) of a substance: "70%羊毛", "羊毛70%", "70% wool".
func (c *Checker) shareBacked(s *sentence, terms []string, pct string) bool {
	for _, t := range terms {
		for _, f := range []string{pct + "%" + t, pct + "% " + t, t + pct + "%", t + " " + pct + "%"} {
			if strings.Contains(s.facts, f) {
				return true
			}
		}
	}
	return false
}

// purityBefore are the words that claim a material is pure.
var purityBefore = []string{"纯", "全", "100%", "pure", "100% pure", "all-", "100%"}

// pureBacked reports whether the catalog states the product to be made of
// the substance group alone: "100%棉", "纯棉", "pure silk", or a material or
// ingredients fact that names no other substance and no share ("桑蚕丝",
// but not "羊毛70%，锦纶30%").
func (c *Checker) pureBacked(s *sentence, group string) bool {
	terms := c.subGroups[group]
	if containsAny(s.facts, prefixed([]string{"100%", "100% ", "纯", "全", "足", "pure "}, terms)) {
		return true
	}
	list := s.fact("material") + " ; " + s.fact("ingredients")
	if strings.Contains(list, "%") || strings.Contains(list, "percent") {
		return false
	}
	hits := c.substances.find(list)
	for _, h := range hits {
		if h.group != group {
			return false
		}
	}
	return len(hits) > 0
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
	list := s.fact("ingredients") + " ; " + s.fact("material")
	return strings.Trim(list, " ;") != "" && !containsAny(list, terms)
}

// factExtracts judges named extracts and essences, recognised or not:
// "添加了积雪草精华", "with reishi extract". Each name (split at 和, 与, 、,
// "and") must appear in the product's title or facts.
func (c *Checker) factExtracts(s *sentence) *violation {
	t := s.text
	for _, re := range []*regexp.Regexp{c.reExtractZH, c.reExtractEN} {
		for _, loc := range re.FindAllStringSubmatchIndex(t, -1) {
			i, j := loc[2], loc[3]
			if s.judged(i, j) {
				continue
			}
			s.claim(i, j)
			for _, name := range strings.FieldsFunc(t[i:j], func(r rune) bool { return strings.ContainsRune("和与、及 ", r) }) {
				if name == "and" || name == "the" || utf8.RuneCountInString(name) < 2 {
					continue
				}
				if s.product == nil || !strings.Contains(s.facts, name) {
					return &violation{CategoryFact, i, j, fmt.Sprintf("%q is not among the product's stated ingredients", name)}
				}
			}
		}
	}
	return nil
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

var warrantyUnits = map[string][]string{
	"year":  {"年", "-year", " year", "year", "years", " years"},
	"month": {"个月", "-month", " month", "month", "months", " months"},
}

func warrantyClass(u string) string {
	if strings.HasPrefix(u, "年") || strings.HasPrefix(u, "year") {
		return "year"
	}
	return "month"
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
	ship := s.fact("shipping")
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
	for _, loc := range c.reDispatchEN.FindAllStringSubmatchIndex(t, -1) {
		i, j := loc[0], loc[1]
		if s.judged(i, j) {
			continue
		}
		n, ok := parseNumber(t[loc[2]:loc[3]])
		if !ok {
			continue
		}
		s.claim(i, j)
		class := unitClass(strings.TrimSuffix(t[loc[4]:loc[5]], "s") + "s")
		if class == "" {
			class = unitClass(t[loc[4]:loc[5]])
		}
		if !c.corpusHasQuantity(ship+" ; "+corpus, n, dispatchUnits[class]) {
			return &violation{CategoryFact, i, j, fmt.Sprintf("dispatch promise %q is not among the product's shipping facts", t[i:j])}
		}
	}
	for _, loc := range c.reWarranty.FindAllStringSubmatchIndex(t, -1) {
		i, j := loc[0], loc[1]
		tok, unit := group(t, loc, 1), group(t, loc, 2)
		if tok == "" {
			tok, unit = group(t, loc, 3), group(t, loc, 4)
		}
		n, ok := parseNumber(tok)
		if !ok {
			continue
		}
		s.claim(i, j)
		if !c.corpusHasQuantity(corpus, n, warrantyUnits[warrantyClass(unit)]) {
			return &violation{CategoryFact, i, j, fmt.Sprintf("warranty %q is not among the product's facts", t[i:j])}
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
	"gram": {"mass", 1}, "grams": {"mass", 1}, "kilogram": {"mass", 1000}, "kilograms": {"mass", 1000},
	"kilo": {"mass", 1000}, "kilos": {"mass", 1000}, "millilitre": {"volume", 1}, "millilitres": {"volume", 1},
	"milliliter": {"volume", 1}, "milliliters": {"volume", 1}, "litre": {"volume", 1000}, "litres": {"volume", 1000},
	"liter": {"volume", 1000}, "liters": {"volume", 1000}, "centimetres": {"length", 1}, "centimeters": {"length", 1},
	"watts": {"power", 1}, "姆米": {"momme", 1}, "momme": {"momme", 1},
}

// sizeContext are the words that make a quantity a claim about the product.
var sizeContext = []string{"规格", "净含量", "含量", "容量", "重量", "尺寸", "尺码", "衣长", "裤长", "长度", "宽度",
	"高度", "直径", "长", "宽", "高", "厚", "重", "装", "一盒", "每盒", "一瓶", "每瓶", "一袋", "每袋", "一罐", "每罐",
	"一包", "每包", "电池", "功率", "电压", "屏", "码", "这款", "这盒", "这瓶", "这包", "这件", "一共", "整整", "足足",
	"size", "net", "capacity", "weight", "weighs", "length", "long", "wide", "tall", "high", "volume", "battery",
	"output", "power", "screen", "holds", "bottle", "pack", "box", "jar", "bag", "tin", "each", "whole",
	"快充", "充电", "fast charg", "charging", "charger", "tub", "square", "capsule", "每粒", "measures", "measuring",
	"dimensions", "width", "chest", "waist", "胸围", "肩宽", "袖长", "腰围", "重磅", "姆米", "momme"}

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
