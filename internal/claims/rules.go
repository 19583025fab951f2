package claims

import (
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/evercast/evercast"
)

// lastRunes returns up to n runes of t before byte i.
func lastRunes(t string, i, n int) string {
	j := i
	for k := 0; k < n && j > 0; k++ {
		_, size := utf8.DecodeLastRuneInString(t[:j])
		j -= size
	}
	return t[j:i]
}

// nextRunes returns up to n runes of t from byte j.
func nextRunes(t string, j, n int) string {
	k := j
	for m := 0; m < n && k < len(t); m++ {
		_, size := utf8.DecodeRuneInString(t[k:])
		k += size
	}
	return t[j:k]
}

const clauseSeparators = ",，;；!！?？。、"

// clauseStart returns the start of the clause containing byte i.
func clauseStart(t string, i int) int {
	k := strings.LastIndexAny(t[:i], clauseSeparators)
	if k < 0 {
		return 0
	}
	_, size := utf8.DecodeRuneInString(t[k:])
	return k + size
}

// clauseOpens reports whether byte i starts a clause: the text before it is
// empty or ends with a clause separator or a colon.
func clauseOpens(t string, i int) bool {
	before := strings.TrimRight(t[:i], " ")
	if before == "" {
		return true
	}
	r, _ := utf8.DecodeLastRuneInString(before)
	return strings.ContainsRune(clauseSeparators+":", r)
}

func (c *Checker) negated(t string, i int) bool {
	before := strings.TrimRight(t[clauseStart(t, i):i], " ")
	return c.reNegZH.MatchString(before) || c.reNegEN.MatchString(before+" ")
}

func containsAny(s string, terms []string) bool {
	for _, t := range terms {
		if t != "" && strings.Contains(s, t) {
			return true
		}
	}
	return false
}

// ---- absolute terms ----

func (c *Checker) ruleAbsolute(s *sentence) *violation {
	t := s.text
	allow := c.absAllow.find(t)
	for _, h := range c.absolute.find(t) {
		if covered(h.i, h.j, allow) {
			continue
		}
		if h.term == "100%" && c.hundredBacked(s, h) {
			continue
		}
		if h.term == "第一" && strings.Contains(t[h.j:], "第二") && clauseOpens(t, h.i) {
			continue // an enumeration: 第一看外形，第二闻香气
		}
		if numberOne[h.term] && containsAny(t, []string{"number two", "number 2", "no. 2", "no.2", "link two"}) {
			continue // an enumeration of links: "number two is the scarf, number one is the tea"
		}
		return &violation{CategoryAbsolute, h.i, h.j, fmt.Sprintf("absolute term %q is banned in advertising", h.term)}
	}
	if loc := c.reSuperlativeEN.FindStringIndex(t); loc != nil && !covered(loc[0], loc[1], allow) {
		return &violation{CategoryAbsolute, loc[0], loc[1], fmt.Sprintf("absolute claim %q is banned in advertising", t[loc[0]:loc[1]])}
	}
	return nil
}

var numberOne = map[string]bool{"number one": true, "number 1": true, "no. 1": true, "no.1": true, "no 1": true}

// hundredBacked reports whether "100%" introduces a material or ingredient
// that the catalog states as 100% or pure ("100%纯棉" when the facts say
// "100% cotton").
func (c *Checker) hundredBacked(s *sentence, h hit) bool {
	for _, sub := range c.substances.find(s.text) {
		if sub.i < h.j || sub.i-h.j > 4 {
			continue
		}
		if !containsAny(s.facts, c.subGroups[sub.group]) {
			return false
		}
		return c.pureBacked(s, sub.group)
	}
	return false
}

func prefixed(prefixes, terms []string) []string {
	var out []string
	for _, p := range prefixes {
		for _, t := range terms {
			out = append(out, p+t)
		}
	}
	return out
}

// ---- efficacy and medical claims ----

func (s *sentence) category() string {
	if s.product == nil || s.product.Category == "" {
		return evercast.CategoryGeneral
	}
	return s.product.Category
}

func (c *Checker) filed(s *sentence, group string, groups map[string][]string) bool {
	filed := s.fact("filed_claims")
	if filed == "" {
		return false
	}
	return containsAny(filed, groups[group])
}

func (c *Checker) ruleMedical(s *sentence) *violation {
	t := s.text
	allow := c.effAllow.find(t)
	cat := s.category()
	for _, h := range c.medical.find(t) {
		if covered(h.i, h.j, allow) || c.negated(t, h.i) || cautionary(t, h) {
			continue
		}
		if (cat == evercast.CategoryHealthFood || cat == evercast.CategoryMedicalDevice) && c.filed(s, h.group, c.medGroups) {
			continue
		}
		return &violation{CategoryMedical, h.i, h.j, fmt.Sprintf("medical claim %q is not allowed for a %s product", h.term, cat)}
	}
	return nil
}

// conditionGroups are the medical groups whose terms name a condition (not
// a treatment): a caution about them ("糖尿病人请慎食", "not suitable for
// people with diabetes") is not a claim.
var conditionGroups = map[string]bool{"cancer": true, "blood_pressure": true, "blood_sugar": true, "blood_lipid": true,
	"disease": true, "insomnia": true, "conditions": true, "inflammation": true}

var (
	cautionAfter  = []string{"慎食", "慎用", "慎服", "忌食", "忌用", "禁用", "禁食", "不宜", "请遵医嘱", "请咨询医生", "without medical advice", "should consult", "should ask"}
	cautionBefore = []string{"not suitable for", "unsuitable for", "not recommended for", "not for", "不适合", "不适用于", "不建议"}
)

func cautionary(t string, h hit) bool {
	if !conditionGroups[h.group] {
		return false
	}
	end := len(t)
	if k := strings.IndexAny(t[h.j:], clauseSeparators); k >= 0 {
		end = h.j + k
	}
	return containsAny(t[h.j:end], cautionAfter) || containsAny(t[clauseStart(t, h.i):h.i], cautionBefore)
}

func (c *Checker) ruleEfficacy(s *sentence) *violation {
	t := s.text
	allow := c.effAllow.find(t)
	// Claims the merchant declared as not filed.
	if s.product != nil {
		for _, part := range splitList(s.fact("unfiled_claims")) {
			if utf8.RuneCountInString(part) < 2 {
				continue
			}
			if k := strings.Index(t, part); k >= 0 && !c.negated(t, k) {
				return &violation{CategoryUnfiledClaim, k, k + len(part), fmt.Sprintf("claim %q is listed by the merchant as not filed", part)}
			}
		}
	}
	cat := s.category()
	for _, h := range c.efficacy.find(t) {
		if covered(h.i, h.j, allow) || c.negated(t, h.i) {
			continue
		}
		filed := c.filed(s, h.group, c.effGroups)
		switch cat {
		case evercast.CategoryFood, evercast.CategoryTea:
			return &violation{CategoryEfficacy, h.i, h.j, fmt.Sprintf("efficacy claim %q: ordinary %s may make no efficacy claims", h.term, cat)}
		case evercast.CategoryCosmetics, evercast.CategoryHealthFood, evercast.CategoryMedicalDevice:
			if !filed {
				return &violation{CategoryUnfiledClaim, h.i, h.j, fmt.Sprintf("efficacy claim %q is not among the product's filed claims", h.term)}
			}
		default:
			if !filed {
				return &violation{CategoryEfficacy, h.i, h.j, fmt.Sprintf("efficacy claim %q is not allowed for a %s product", h.term, cat)}
			}
		}
	}
	return nil
}

func splitList(s string) []string {
	f := strings.FieldsFunc(s, func(r rune) bool { return strings.ContainsRune(";；,，、|/", r) })
	var out []string
	for _, x := range f {
		if x = strings.TrimSpace(x); x != "" {
			out = append(out, x)
		}
	}
	return out
}

// ---- prices ----

// money is an amount of money stated in a sentence.
type money struct {
	i, j     int   // normalised byte range, markers included
	amount   int64 // in minor units
	currency string
	kind     string // price, current, original, saving, shipping, threshold
	marker   string
	// lo and hi bound the amount meant, inclusive: both equal amount for an
	// exact amount; "两百出头" is 200 < x <= 220 (lo 201), "一百三十多" is
	// 130 <= x < 140, "不到一百四十元" is below 140 (lo 0).
	lo, hi int64
}

// approxSuffixes follow an amount that is not exact.
var approxSuffixes = []string{"出头", "多", "来", "左右", "上下"}

// belowMarkers put an upper bound on the amount after them. The Chinese ones
// also make a bare number a price when the clause prices one piece
// ("一盒不到一百三"); the English ones only bound an amount with a currency,
// so "less than 20 left" stays a stock claim.
var (
	belowMarkersZH = []string{"不到", "不足", "低于", "不超过"}
	belowMarkersEN = []string{"less than", "under", "below"}
)

// perUnit phrases make a bare number after 不到 a price: "一盒不到一百三".
var perUnit = []string{"一盒", "一瓶", "一件", "一个", "一条", "一罐", "一台", "每盒", "每瓶", "每件", "每个"}

// approxRange returns the bounds an approximate amount means.
func approxRange(v int64, suffix string) (lo, hi int64) {
	switch suffix {
	case "出头":
		return v + 1, v + v/10
	case "左右", "上下":
		return v - v/10, v + v/10
	}
	// 多, 来: up to the next step of the last non-zero place: 一百多 is
	// 100..199, 一百三十多 is 130..139.
	place := int64(100) // one yuan, in minor units
	for v%(place*10) == 0 && place*10 <= v {
		place *= 10
	}
	return v, v + place - 1
}

func (m money) matches(want int64) bool { return m.lo <= want && want <= m.hi }

type marker struct {
	word string
	kind string
}

var priceMarkers = []marker{
	// original (reference) prices; strong ones are judged even without an amount
	{"原价", "original"}, {"划线价", "original"}, {"市场价", "original"}, {"专柜价", "original"},
	{"吊牌价", "original"}, {"门市价", "original"}, {"门店价", "original"}, {"日常价", "original"},
	{"零售价", "original"}, {"建议零售价", "original"}, {"指导价", "original"}, {"参考价", "original"},
	{"官方价", "original"}, {"官网价", "original"}, {"original price", "original"},
	{"regular price", "original"}, {"list price", "original"}, {"retail price", "original"},
	{"rrp", "original"}, {"msrp", "original"}, {"compare at", "original"},
	{"平时", "original_weak"}, {"平常", "original_weak"}, {"原来", "original_weak"}, {"以前", "original_weak"},
	{"之前", "original_weak"}, {"本来", "original_weak"}, {"往常", "original_weak"}, {"日常", "original_weak"},
	{"was", "original_weak"}, {"originally", "original_weak"}, {"regularly", "original_weak"},
	{"usually", "original_weak"}, {"normally", "original_weak"}, {"used to be", "original_weak"},
	{"used to cost", "original_weak"}, {"used to sell for", "original_weak"}, {"down from", "original_weak"},
	{"instead of", "original_weak"}, {"tag price", "original"}, {"专柜", "original_weak"}, {"官网", "original_weak"},
	{"retails for", "original_weak"}, {"retails at", "original_weak"},
	// what the viewer pays now
	{"到手价", "current"}, {"直播价", "current"}, {"活动价", "current"}, {"秒杀价", "current"},
	{"优惠价", "current"}, {"券后价", "current"}, {"现价", "current"}, {"折后价", "current"},
	{"优惠后", "current"}, {"券后", "current"}, {"折后", "current"}, {"优惠到", "current"}, {"降到", "current"},
	{"便宜到", "current"}, {"直降到", "current"},
	{"现在", "current"}, {"今天", "current"}, {"直播间", "current"}, {"只要", "current"}, {"仅需", "current"},
	{"只需", "current"}, {"仅要", "current"}, {"仅售", "current"}, {"才", "current"}, {"到手", "current"},
	{"now", "current"}, {"today", "current"}, {"sale price", "current"}, {"deal price", "current"},
	{"promo price", "current"}, {"special price", "current"}, {"only", "current"}, {"just", "current"},
	// plain prices
	{"价格", "price"}, {"售价", "price"}, {"单价", "price"}, {"定价", "price"}, {"价", "price"},
	{"卖", "price"}, {"price", "price"}, {"costs", "price"}, {"cost", "price"}, {"priced at", "price"},
	// savings and coupons
	{"立减", "saving"}, {"直降", "saving"}, {"减", "saving"}, {"省", "saving"}, {"便宜", "saving"},
	{"优惠", "saving"}, {"降", "saving"}, {"返", "saving"}, {"券", "saving"}, {"补贴", "saving"},
	{"save", "saving"}, {"saving", "saving"}, {"savings", "saving"}, {"discount", "saving"},
	{"coupon", "saving"}, {"rebate", "saving"}, {"cheaper", "saving"},
	// shipping fees and thresholds are not prices of the product
	{"运费", "shipping"}, {"邮费", "shipping"}, {"快递费", "shipping"}, {"shipping", "shipping"},
	{"delivery", "shipping"}, {"满", "threshold"}, {"orders over", "threshold"}, {"spend", "threshold"},
}

// kindOf classifies the amount starting at byte i: the nearest marker of a
// saving, shipping fee or threshold wins; then an original-price marker
// earlier in the clause with no other amount in between (prev is the end of
// the previous amount), or a weak one ("was", 平时) just before; then the
// nearest marker; else a plain price.
func kindOf(t string, i, prev int) (string, string) {
	mk, _ := nearestMarker(t, i)
	switch mk.kind {
	case "saving", "shipping", "threshold":
		return mk.kind, mk.word
	}
	from := max(clauseStart(t, i), prev)
	prefix := t[from:i]
	for _, w := range strongOriginal {
		if strings.Contains(prefix, w) {
			return "original", w
		}
	}
	near := lastRunes(t, i, 8)
	if near != "" && len(near) > len(prefix) {
		near = prefix
	}
	if w := lastWords(prefix, 3); len(w) > len(near) {
		near = w // "it used to be 159", "normally 99"
	}
	for _, m := range priceMarkers {
		if m.kind == "original_weak" && strings.Contains(near, m.word) {
			k := strings.LastIndex(near, m.word)
			if isASCIILetter(rune(m.word[0])) && k > 0 && isASCIIAlnum(rune(near[k-1])) {
				continue
			}
			return "original", m.word
		}
	}
	if mk.kind == "" || mk.kind == "original_weak" || mk.kind == "original" {
		return "price", mk.word
	}
	return mk.kind, mk.word
}

// lastWords returns the last n space-separated words of s, with the space
// after them.
func lastWords(s string, n int) string {
	k := len(s)
	for strings.HasSuffix(s[:k], " ") {
		k--
	}
	for ; n > 0 && k > 0; n-- {
		j := strings.LastIndexByte(s[:k], ' ')
		if j < 0 {
			return s
		}
		k = j
		if n > 1 {
			for k > 0 && s[k-1] == ' ' {
				k--
			}
		}
	}
	return strings.TrimLeft(s[k:], " ")
}

// nearestMarker returns the marker ending closest before byte i in the clause.
func nearestMarker(t string, i int) (marker, int) {
	cs := clauseStart(t, i)
	prefix := t[cs:i]
	best, bestEnd := marker{}, -1
	for _, m := range priceMarkers {
		k := strings.LastIndex(prefix, m.word)
		if k < 0 {
			continue
		}
		if isASCIILetter(rune(m.word[0])) && k > 0 && isASCIIAlnum(rune(prefix[k-1])) {
			continue
		}
		end := k + len(m.word)
		if end > bestEnd || end == bestEnd && len(m.word) > len(best.word) {
			best, bestEnd = m, end
		}
	}
	return best, cs + bestEnd
}

var moneyUnits = []struct {
	word, currency string
	jiao           bool // a following digit counts tenths: 129块9
	tenths         bool // the number counts tenths: 九毛
}{
	{"块钱", "CNY", false, false}, {"块", "CNY", true, false}, {"元", "CNY", true, false}, {"圆", "CNY", true, false},
	{"毛钱", "CNY", false, true}, {"毛", "CNY", false, true}, {"角", "CNY", false, true},
	{"rmb", "CNY", false, false}, {"yuan", "CNY", false, false}, {"cny", "CNY", false, false},
	{"人民币", "CNY", false, false}, {"美元", "USD", false, false}, {"美金", "USD", false, false},
	{"dollars", "USD", false, false}, {"dollar", "USD", false, false}, {"bucks", "USD", false, false},
	{"usd", "USD", false, false},
}

var moneyPrefixes = []struct{ word, currency string }{
	{"us$", "USD"}, {"$", "USD"}, {"usd", "USD"}, {"¥", "CNY"}, {"rmb", "CNY"}, {"cny", "CNY"}, {"人民币", "CNY"},
}

// singleDigit reads one digit (Arabic or Chinese) at byte j that is not
// followed by another digit: the jiao of "129块9" or the fen of "九毛九".
func singleDigit(t string, j int) (int64, int, bool) {
	if j >= len(t) {
		return 0, j, false
	}
	r, n := utf8.DecodeRuneInString(t[j:])
	var d int64
	switch {
	case r >= '0' && r <= '9':
		d = int64(r - '0')
	default:
		v, ok := hanDigit[r]
		if !ok || r == '两' {
			return 0, j, false
		}
		d = v
	}
	if j+n < len(t) {
		r2, n2 := utf8.DecodeRuneInString(t[j+n:])
		if isMeasureWord(r2) {
			return 0, j, false // 59元一件: the digit counts pieces
		}
		if r2 == '一' {
			if r3, _ := utf8.DecodeRuneInString(t[j+n+n2:]); isMeasureWord(r3) {
				return d, j + n, true // 四十九块九一瓶
			}
		}
		if isDigit(r2) || r2 == '.' || hanDigit[r2] > 0 || strings.ContainsRune("十百千万亿点%", r2) || isASCIILetter(r2) {
			return 0, j, false
		}
		if _, ok := hanDigit[r2]; ok {
			return 0, j, false
		}
	}
	return d, j + n, true
}

// measureWords are the Chinese classifiers that count goods.
const measureWords = "件个份套瓶盒台双支包袋罐箱把条片只张组桶对提枚颗粒听"

func isMeasureWord(r rune) bool { return strings.ContainsRune(measureWords, r) }

func skipSpace(t string, j int) int {
	for j < len(t) && t[j] == ' ' {
		j++
	}
	return j
}

// trimFiller removes the words between a price word and its amount:
// "价格是", "price is", "priced at".
func trimFiller(s string) string {
	for {
		before := s
		s = strings.TrimRight(s, " :")
		for _, w := range []string{"是", "为", "了", " is", " of", " at"} {
			s = strings.TrimSuffix(s, w)
		}
		if s == before {
			return s
		}
	}
}

// moneyMentions finds every stated amount of money in normalised text.
func (c *Checker) moneyMentions(t string) []money {
	var out []money
	lastEnd := 0
	for _, loc := range c.reMoney.FindAllStringIndex(t, -1) {
		a, b := loc[0], loc[1]
		if a < lastEnd {
			continue
		}
		tok := t[a:b]
		val, ok := parseNumber(tok)
		if !ok {
			continue
		}
		m := money{i: a, j: b}
		// prefix
		before := strings.TrimRight(t[:a], " ")
		for _, p := range moneyPrefixes {
			if strings.HasSuffix(before, p.word) {
				k := len(before) - len(p.word)
				if isASCIILetter(rune(p.word[0])) && k > 0 && isASCIIAlnum(rune(before[k-1])) {
					continue
				}
				m.i, m.currency = k, p.currency
				break
			}
		}
		if m.currency == "" && a > 0 {
			if r, _ := utf8.DecodeLastRuneInString(t[:a]); isASCIILetter(r) || r == '.' || r == '#' {
				continue // iso9001, no.1, #1
			}
		}
		j := b
		// multiplier
		if tok[0] >= '0' && tok[0] <= '9' {
			if strings.HasPrefix(t[j:], "万") {
				val *= 10000
				j += len("万")
			} else if strings.HasPrefix(t[j:], "千") {
				val *= 1000
				j += len("千")
			}
		}
		amount := val
		k := skipSpace(t, j)
		unitFound := false
		for _, u := range moneyUnits {
			if !strings.HasPrefix(t[k:], u.word) {
				continue
			}
			e := k + len(u.word)
			if isASCIILetter(rune(u.word[0])) && e < len(t) && isASCIILetter(rune(t[e])) {
				continue
			}
			if r, _ := utf8.DecodeRuneInString(t[e:]); u.tenths && isHan(r) && !strings.ContainsRune("零〇一二两三四五六七八九钱分", r) {
				break // 三角形, 五角星: a word, not money
			}
			unitFound = true
			if m.currency == "" {
				m.currency = u.currency
			}
			if u.tenths {
				amount = val / 10
				if d, e2, ok := singleDigit(t, e); ok {
					amount += d
					e = e2
					if strings.HasPrefix(t[e:], "分") {
						e += len("分")
					}
				}
			}
			if u.jiao {
				if d, e2, ok := singleDigit(t, e); ok {
					amount += d * 10
					e = e2
					if strings.HasPrefix(t[e:], "毛") || strings.HasPrefix(t[e:], "角") {
						e += len("毛")
						if d2, e3, ok := singleDigit(t, e); ok {
							amount += d2
							e = e3
							if strings.HasPrefix(t[e:], "分") {
								e += len("分")
							}
						}
					}
				}
			}
			j = e
			break
		}
		approx := ""
		if !unitFound {
			// 两百出头, 一百三十多块: an approximate amount, perhaps with a unit after
			for _, sfx := range approxSuffixes {
				if strings.HasPrefix(t[k:], sfx) {
					approx = sfx
					k2 := k + len(sfx)
					for _, u := range moneyUnits {
						if strings.HasPrefix(t[k2:], u.word) && !u.tenths {
							unitFound, j = true, k2+len(u.word)
							if m.currency == "" {
								m.currency = u.currency
							}
							break
						}
					}
					if !unitFound {
						j = k2
					}
					break
				}
			}
		} else if sfx := t[skipSpace(t, j):]; startsWithAny(sfx, []string{"出头", "左右", "上下"}) {
			for _, x := range []string{"出头", "左右", "上下"} {
				if strings.HasPrefix(sfx, x) {
					approx = x
					j = skipSpace(t, j) + len(x)
				}
			}
		}
		clause := t[clauseStart(t, a):a]
		trimmed := strings.TrimRight(clause, " ")
		below := endsWithAny(trimmed, belowMarkersZH) || endsWithAny(trimmed, belowMarkersEN)
		if m.currency == "" && !unitFound {
			// A bare number counts as money only right after a price word
			// and when no other unit follows: "到手价129.9", "价格：99", or
			// after 不到 when the clause prices one piece: "一盒不到一百三".
			next := k
			if approx != "" {
				next = j // 两百多件 counts pieces
			}
			if next < len(t) {
				r, _ := utf8.DecodeRuneInString(t[next:])
				if isHan(r) && r != '的' || isASCIILetter(r) || r == '%' || r == '+' || r == '*' || r == 'x' {
					continue
				}
			}
			perPiece := endsWithAny(trimmed, belowMarkersZH) && containsAny(clause, perUnit)
			if mk, _ := nearestMarker(t, a); !perPiece && (mk.word == "" || !strings.HasSuffix(trimFiller(clause), mk.word) &&
				!strings.HasSuffix(strings.TrimRight(clause, " :"), mk.word)) {
				continue
			}
		}
		if r, _ := utf8.DecodeRuneInString(t[skipSpace(t, j):]); r == '折' || r == '%' {
			continue
		}
		m.j = j
		m.amount = amount
		m.lo, m.hi = amount, amount
		if approx != "" {
			m.lo, m.hi = approxRange(amount, approx)
		}
		if below {
			m.lo, m.hi = 0, amount-1
			if strings.HasSuffix(trimmed, "不超过") {
				m.hi = amount
			}
		}
		m.kind, m.marker = kindOf(t, m.i, lastEnd)
		after := t[skipSpace(t, j):]
		if strings.HasPrefix(after, "off") || strings.HasPrefix(after, "优惠券") || strings.HasPrefix(after, "券") ||
			strings.HasPrefix(after, "的优惠") || strings.HasPrefix(after, "coupon") {
			m.kind = "saving"
		}
		out = append(out, m)
		lastEnd = j
	}
	return out
}

func (c *Checker) rulePrice(s *sentence) *violation {
	t := s.text
	p := s.product
	for _, m := range c.moneyMentions(t) {
		s.claim(m.i, m.j)
		if m.kind == "original" || m.kind == "threshold" || m.kind == "shipping" {
			continue
		}
		span := t[m.i:m.j]
		if p == nil {
			return &violation{CategoryPrice, m.i, m.j, fmt.Sprintf("price %q cannot be checked: no catalog product", span)}
		}
		if m.currency != "" && p.Currency != "" && m.currency != p.Currency {
			return &violation{CategoryPrice, m.i, m.j, fmt.Sprintf("price %q is in %s but the catalog prices the product in %s", span, m.currency, p.Currency)}
		}
		offer := int64(p.Offer())
		qty := c.quantityBefore(t, m.i)
		if qty == 1 {
			qty = c.quantityAfter(t, m.j)
		}
		is := func(want int64) bool { return m.matches(qty * want) }
		switch m.kind {
		case "saving":
			if p.PromoPrice == nil || !is(int64(p.Price)-offer) {
				return &violation{CategoryPrice, m.i, m.j, fmt.Sprintf("saving %q does not match the catalog (price %s, promotion %s)", span, p.Price.Spoken(), promoString(p))}
			}
		case "current":
			if !is(offer) {
				return &violation{CategoryPrice, m.i, m.j, fmt.Sprintf("price %q does not match the price paid now, %s", span, p.Offer().Spoken())}
			}
		default:
			if !is(int64(p.Price)) && !is(offer) {
				return &violation{CategoryPrice, m.i, m.j, fmt.Sprintf("price %q does not match the catalog price %s or promotion price %s", span, p.Price.Spoken(), promoString(p))}
			}
		}
	}
	for _, h := range c.promotions.find(t) {
		if p == nil || !containsAny(s.facts, c.promoGroups[h.group]) {
			return &violation{CategoryPrice, h.i, h.j, fmt.Sprintf("promotion %q is not in the catalog", h.term)}
		}
	}
	for _, loc := range c.reDiscount.FindAllStringSubmatchIndex(t, -1) {
		i, j := loc[0], loc[1]
		if strings.HasSuffix(t[i:j], "叠") || s.judged(i, j) {
			continue
		}
		var tenths int64 // price ratio in thousandths
		switch {
		case loc[2] >= 0:
			v, ok := parseNumber(t[loc[2]:loc[3]])
			if !ok || v <= 0 {
				continue
			}
			for v >= 1000 {
				v /= 10 // 85折 is 8.5折
			}
			tenths = v
		case loc[4] >= 0:
			v, ok := parseNumber(t[loc[4]:loc[5]])
			if v >= 10000 {
				continue
			}
			if !ok {
				continue
			}
			tenths = (10000 - v) / 10
		default:
			tenths = 500
		}
		s.claim(i, j)
		if p == nil {
			return &violation{CategoryPrice, i, j, "discount cannot be checked: no catalog product"}
		}
		want := int64(p.Price) * tenths / 1000
		diff := int64(p.Offer()) - want
		if diff < 0 {
			diff = -diff
		}
		if p.PromoPrice == nil || diff > int64(p.Price)/100+1 {
			return &violation{CategoryPrice, i, j, fmt.Sprintf("discount %q does not match the catalog (price %s, promotion %s)", t[i:j], p.Price.Spoken(), promoString(p))}
		}
	}
	return nil
}

// quantityBefore returns how many pieces an amount at byte i is for, when
// the clause says so right before it ("两件118元", "two jars for 99.8
// yuan"), or the clause before ends with it and this one starts with the
// amount ("two tees, 118 yuan"). It returns 1 otherwise.
func (c *Checker) quantityBefore(t string, i int) int64 {
	cs := clauseStart(t, i)
	prefix := t[cs:i]
	if strings.TrimSpace(prefix) == "" && cs > 0 {
		_, size := utf8.DecodeLastRuneInString(t[:cs])
		prefix = t[clauseStart(t, cs-size) : cs-size]
	}
	loc := c.reQty.FindStringSubmatchIndex(prefix)
	if loc == nil {
		return 1
	}
	v, ok := parseNumber(prefix[loc[2]:loc[3]])
	if !ok || v < 200 || v%100 != 0 {
		return 1
	}
	return v / 100
}

// quantityAfter returns how many pieces an amount ending at byte j is for
// when the count follows it: "118 yuan for two", "118元两件". It returns 1
// otherwise.
func (c *Checker) quantityAfter(t string, j int) int64 {
	loc := c.reQtyAfter.FindStringSubmatchIndex(t[j:])
	if loc == nil {
		return 1
	}
	v, ok := parseNumber(t[j+loc[2] : j+loc[3]])
	if !ok || v < 200 || v%100 != 0 {
		return 1
	}
	return v / 100
}

func promoString(p *evercast.Product) string {
	if p.PromoPrice == nil {
		return "none"
	}
	return p.PromoPrice.Spoken()
}

var strongOriginal = []string{"原价", "划线价", "市场价", "专柜价", "吊牌价", "门市价", "门店价", "日常价", "零售价",
	"建议零售价", "指导价", "参考价", "官方价", "官网价", "original price", "regular price", "list price",
	"retail price", "rrp", "msrp", "compare at", "tag price"}

// lowestRecent returns the lowest price charged in the days before the
// session: from day-N to day-1 inclusive, the session day itself excluded.
func lowestRecent(p *evercast.Product, session time.Time, days int) (evercast.Money, bool) {
	if p == nil || session.IsZero() {
		return 0, false
	}
	y, m, d := session.Date()
	day := time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
	var low evercast.Money
	found := false
	for _, h := range p.PriceHistory {
		hd, err := time.Parse(time.DateOnly, h.Date)
		if err != nil {
			continue
		}
		ago := int(day.Sub(hd).Hours() / 24)
		if ago < 1 || ago > days {
			continue
		}
		if !found || h.Price < low {
			low, found = h.Price, true
		}
	}
	return low, found
}

func (c *Checker) ruleOriginalPrice(s *sentence) *violation {
	t := s.text
	low, have := lowestRecent(s.product, s.in.SessionDate, c.opts.OriginalPriceDays)
	mentions := c.moneyMentions(t)
	for _, m := range mentions {
		if m.kind != "original" {
			continue
		}
		if m.marker != "" {
			if k := strings.LastIndex(t[:m.i], m.marker); k >= 0 {
				m.i = k
			}
		}
		span := t[m.i:m.j]
		if !have {
			return &violation{CategoryOriginalPrice, m.i, m.j, fmt.Sprintf("original price %q cannot be proven: no price charged in the %d days before the session", span, c.opts.OriginalPriceDays)}
		}
		if m.amount > int64(low) {
			return &violation{CategoryOriginalPrice, m.i, m.j, fmt.Sprintf("original price %q exceeds the lowest price charged in the %d days before the session, %s", span, c.opts.OriginalPriceDays, low.Spoken())}
		}
	}
	if have {
		return nil
	}
	for _, w := range strongOriginal {
		k := strings.Index(t, w)
		if k < 0 || isASCIILetter(rune(w[0])) && k > 0 && isASCIIAlnum(rune(t[k-1])) {
			continue
		}
		return &violation{CategoryOriginalPrice, k, k + len(w), fmt.Sprintf("reference price %q cannot be proven: no price charged in the %d days before the session", w, c.opts.OriginalPriceDays)}
	}
	return nil
}

// ---- stock, scarcity, sales ----

func countOf(tok, mult string) (int64, bool) {
	v, ok := parseNumber(tok)
	if !ok {
		return 0, false
	}
	switch mult {
	case "万", "w":
		v *= 10000
	case "千", "k", "thousand":
		v *= 1000
	}
	return v / 100, true
}

func group(t string, loc []int, k int) string {
	if 2*k+1 >= len(loc) || loc[2*k] < 0 {
		return ""
	}
	return t[loc[2*k]:loc[2*k+1]]
}

func (c *Checker) ruleStock(s *sentence) *violation {
	t := s.text
	check := func(i, j int, tok, bound string) *violation {
		if s.judged(i, j) {
			return nil
		}
		n, ok := countOf(tok, "")
		if !ok {
			return nil
		}
		s.claim(i, j)
		if s.product == nil {
			return &violation{CategoryStock, i, j, "stock cannot be checked: no catalog product"}
		}
		st := int64(s.product.Stock)
		if bound != "" {
			if st < n {
				return nil
			}
			return &violation{CategoryStock, i, j, fmt.Sprintf("stock claim %q but the catalog has %d in stock", t[i:j], st)}
		}
		if st != n {
			return &violation{CategoryStock, i, j, fmt.Sprintf("stock claim %q but the catalog has %d in stock", t[i:j], st)}
		}
		return nil
	}
	for _, loc := range c.reStockZH.FindAllStringSubmatchIndex(t, -1) {
		tok, bound := group(t, loc, 3), group(t, loc, 2)
		if tok == "" {
			tok = group(t, loc, 5)
			if startsWithAny(t[loc[1]:], notStockNouns) {
				continue // 最后一个产品: the last item of the show
			}
		}
		if v := check(loc[0], loc[1], tok, bound); v != nil {
			return v
		}
	}
	for _, loc := range c.reStockEN.FindAllStringSubmatchIndex(t, -1) {
		if containsAny(t[loc[0]:loc[1]], timeWords) {
			continue // "3 minutes left"
		}
		tok := group(t, loc, 2)
		for _, k := range []int{3, 4} {
			if tok == "" {
				tok = group(t, loc, k)
			}
		}
		if v := check(loc[0], loc[1], tok, group(t, loc, 1)); v != nil {
			return v
		}
	}
	return nil
}

// notStockNouns follow 最后N个 when it counts items of the show, not stock.
var notStockNouns = []string{"产品", "商品", "宝贝", "链接", "问题", "环节", "话题", "福利", "款"}

// timeWords mark "N minutes left" as time, not stock.
var timeWords = []string{"second", "minute", "hour", "day", "week", "month", "year"}

// lowStock reports whether stock is really low: at most LowStockUnits, or at
// most LowStockShare of the last 30 days' sales.
func (c *Checker) lowStock(p *evercast.Product) bool {
	return p.Stock <= c.opts.LowStockUnits || float64(p.Stock) <= c.opts.LowStockShare*float64(p.Sales30d)
}

func (c *Checker) ruleScarcity(s *sentence) *violation {
	for _, h := range c.scarcity.find(s.text) {
		if c.negated(s.text, h.i) {
			continue
		}
		if s.product == nil {
			return &violation{CategoryScarcity, h.i, h.j, "scarcity claim cannot be checked: no catalog product"}
		}
		if !c.lowStock(s.product) {
			return &violation{CategoryScarcity, h.i, h.j, fmt.Sprintf("scarcity claim %q but the catalog has %d in stock (low means at most %d, or %.0f%% of 30-day sales)", h.term, s.product.Stock, c.opts.LowStockUnits, c.opts.LowStockShare*100)}
		}
	}
	return nil
}

func (c *Checker) ruleSales(s *sentence) *violation {
	t := s.text
	check := func(i, j int, tok, mult, bound, plus string) *violation {
		if s.judged(i, j) {
			return nil
		}
		n, ok := countOf(tok, mult)
		if !ok {
			return nil
		}
		s.claim(i, j)
		if s.product == nil {
			return &violation{CategorySales, i, j, "sales cannot be checked: no catalog product"}
		}
		got := int64(s.product.Sales30d)
		bad := false
		switch strings.TrimSpace(bound) {
		case "超过", "超", "达", "达到", "突破", "上", "过", "破", "over", "more than":
			bad = got < n
		case "近", "将近", "nearly", "almost":
			bad = got > n || got*10 < n*9
		default:
			if plus != "" {
				bad = got < n
			} else {
				bad = got != n
			}
		}
		if bad {
			return &violation{CategorySales, i, j, fmt.Sprintf("sales claim %q but the catalog has %d sold in the last 30 days", t[i:j], got)}
		}
		return nil
	}
	for _, loc := range c.reSalesZH.FindAllStringSubmatchIndex(t, -1) {
		i, j := loc[0], loc[1]
		if tok := group(t, loc, 2); tok != "" {
			mult, plus := group(t, loc, 3), group(t, loc, 4)
			last, _ := utf8.DecodeLastRuneInString(t[i:j])
			if j < len(t) && mult == "" && plus == "" && !strings.ContainsRune("件个份套瓶盒单台双支包袋罐箱把条片只张组桶对提枚颗粒笔人", last) {
				if r, _ := utf8.DecodeRuneInString(t[j:]); isHan(r) || isASCIILetter(r) {
					continue // 卖了3年
				}
			}
			if v := check(i, j, tok, mult, group(t, loc, 1), plus); v != nil {
				return v
			}
			continue
		}
		if v := check(i, j, group(t, loc, 5), group(t, loc, 6), "", group(t, loc, 7)); v != nil {
			return v
		}
	}
	for _, loc := range c.reRate.FindAllStringSubmatchIndex(t, -1) {
		tok := group(t, loc, 1)
		if tok == "" {
			tok = group(t, loc, 2)
		}
		if s.judged(loc[0], loc[1]) || s.product != nil && strings.Contains(s.facts, tok+"%") {
			continue
		}
		s.claim(loc[0], loc[1])
		return &violation{CategorySales, loc[0], loc[1], fmt.Sprintf("rate %q is not in the catalog", t[loc[0]:loc[1]])}
	}
	for _, loc := range c.reSalesEN.FindAllStringSubmatchIndex(t, -1) {
		if tok := group(t, loc, 2); tok != "" {
			if v := check(loc[0], loc[1], tok, group(t, loc, 3), group(t, loc, 1), group(t, loc, 4)); v != nil {
				return v
			}
			continue
		}
		if v := check(loc[0], loc[1], group(t, loc, 6), group(t, loc, 7), group(t, loc, 5), group(t, loc, 8)); v != nil {
			return v
		}
	}
	return nil
}
