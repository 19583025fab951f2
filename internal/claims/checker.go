package claims

import (
	"fmt"
	"regexp"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/evercast/evercast"
)

// Verdict categories.
const (
	CategoryAbsolute      = "absolute"
	CategoryEfficacy      = "efficacy"
	CategoryMedical       = "medical"
	CategoryUnfiledClaim  = "unfiled_claim"
	CategoryPrice         = "price"
	CategoryOriginalPrice = "original_price"
	CategoryStock         = "stock"
	CategoryScarcity      = "scarcity"
	CategorySales         = "sales"
	CategoryFact          = "fact"
)

// Categories lists every verdict category in the order the rules run.
func Categories() []string {
	return []string{CategoryAbsolute, CategoryMedical, CategoryUnfiledClaim, CategoryEfficacy,
		CategoryPrice, CategoryOriginalPrice, CategoryStock, CategoryScarcity, CategorySales, CategoryFact}
}

// Defaults of Options.
const (
	DefaultLowStockUnits     = 10
	DefaultLowStockShare     = 0.02
	DefaultOriginalPriceDays = 7
)

// Options tunes a Checker. The zero value gives the documented defaults.
type Options struct {
	// ExtraAbsolute adds absolute terms (any language) to the embedded list.
	ExtraAbsolute []string
	// ExtraAllowed adds ordinary words that excuse an absolute term inside them.
	ExtraAllowed []string
	// ExtraEfficacy and ExtraMedical add efficacy and medical claims; a claim
	// added here is filed when the product's filed_claims fact contains it.
	ExtraEfficacy []string
	ExtraMedical  []string
	// ExtraScarcity adds scarcity phrases.
	ExtraScarcity []string
	// LowStockUnits and LowStockShare define "really low" stock for scarcity
	// phrases: stock <= LowStockUnits, or stock <= LowStockShare × sales_30d.
	// Defaults 10 and 0.02.
	LowStockUnits int
	LowStockShare float64
	// OriginalPriceDays is how many days before the session an "original
	// price" must have been charged. Default 7.
	OriginalPriceDays int
}

// Input is one text to check.
type Input struct {
	Lang evercast.Language
	Text string
	// Product is the product the text is about; it may be nil, and then every
	// claim that needs the catalog (price, stock, sales, facts) fails.
	Product *evercast.Product
	// Catalog lets a sentence that names another product by its title be
	// judged against that product.
	Catalog []*evercast.Product
	// SessionDate is the day the text airs; the original-price rule counts
	// back from it. Zero means no price can be proven as an original price.
	SessionDate time.Time
}

// Verdict is the judgement of one sentence.
type Verdict struct {
	Sentence string
	OK       bool
	// Category is one of the Category constants when OK is false.
	Category string
	// Span is the offending text as written in the input; Start and End are
	// its byte offsets in Input.Text. For a claim split across sentences of a
	// word or two ("Best. Honey. Ever.") the span covers the whole run and
	// the verdict is on its first sentence.
	Span       string
	Start, End int
	Reason     string
}

// Result is the judgement of a whole text.
type Result struct {
	OK        bool
	Sentences []Verdict
}

// FirstViolation returns the first failing sentence's verdict.
func (r Result) FirstViolation() (Verdict, bool) {
	for _, v := range r.Sentences {
		if !v.OK {
			return v, true
		}
	}
	return Verdict{}, false
}

// Checker judges texts against advertising law and the catalog. It is
// immutable after New and safe for concurrent use.
type Checker struct {
	opts        Options
	absolute    *termSet
	absAllow    *termSet
	medical     *termSet
	efficacy    *termSet
	effAllow    *termSet
	scarcity    *termSet
	substances  *termSet
	certs       *termSet
	shipping    *termSet
	promotions  *termSet
	places      *gazetteer
	subGroups   map[string][]string
	certGroups  map[string][]string
	shipGroups  map[string][]string
	promoGroups map[string][]string
	medGroups   map[string][]string
	effGroups   map[string][]string

	reMoney, reDiscount, reStockZH, reStockEN, reSalesZH, reSalesEN *regexp.Regexp
	reOriginZH, reOriginEN, reSize, reDispatch, reFee               *regexp.Regexp
	reNegZH, reNegEN                                                *regexp.Regexp
	reNum, reQty, reWarranty, reDispatchEN, reRate, reExtractZH     *regexp.Regexp
	reExtractEN, rePercentBefore, reSuperlativeEN, reQtyAfter       *regexp.Regexp
}

// New builds a Checker from the embedded lexicons and opts.
func New(opts Options) *Checker {
	if opts.LowStockUnits <= 0 {
		opts.LowStockUnits = DefaultLowStockUnits
	}
	if opts.LowStockShare <= 0 {
		opts.LowStockShare = DefaultLowStockShare
	}
	if opts.OriginalPriceDays <= 0 {
		opts.OriginalPriceDays = DefaultOriginalPriceDays
	}
	extra := func(ts []term, words []string, group string) []term {
		for _, w := range words {
			g := group
			if g == "" {
				g = "extra:" + Normalize(w).Text
			}
			ts = append(ts, term{text: w, group: g})
		}
		return ts
	}
	c := &Checker{
		opts:       opts,
		absolute:   newTermSet(despaced(plainTerms("absolute.txt", opts.ExtraAbsolute))),
		absAllow:   newTermSet(plainTerms("absolute_allow.txt", opts.ExtraAllowed)),
		medical:    newTermSet(extra(groupTerms("medical.txt"), opts.ExtraMedical, "")),
		efficacy:   newTermSet(extra(groupTerms("efficacy.txt"), opts.ExtraEfficacy, "")),
		effAllow:   newTermSet(plainTerms("efficacy_allow.txt", nil)),
		scarcity:   newTermSet(plainTerms("scarcity.txt", opts.ExtraScarcity)),
		substances: newTermSet(groupTerms("substances.txt")),
		certs:      newTermSet(groupTerms("certifications.txt")),
		shipping:   newTermSet(groupTerms("shipping.txt")),
		promotions: newTermSet(groupTerms("promotions.txt")),
		places:     loadGazetteer(),
	}
	c.subGroups = c.substances.groupsOf()
	c.certGroups = c.certs.groupsOf()
	c.shipGroups = c.shipping.groupsOf()
	c.promoGroups = c.promotions.groupsOf()
	c.medGroups = c.medical.groupsOf()
	c.effGroups = c.efficacy.groupsOf()

	n := numPattern
	c.reNum = regexp.MustCompile(n)
	c.reMoney = c.reNum
	c.reDiscount = regexp.MustCompile(`(` + n + `)\s?折(?:叠)?|半价|\b([0-9]{1,2}|` + enNumber + `)\s?(?:%|percent)\s?(?:off|discount)\b|\bhalf[ -]?(?:price|off)\b`)
	unitZH := `(?:件|个|份|套|瓶|盒|单|台|双|支|包|袋|罐|箱|把|条|片|只|张|组|桶|对|款|斤|提|枚|颗|粒|块)`
	c.reStockZH = regexp.MustCompile(`(?:(仅剩|只剩|还剩|剩下|剩余|就剩|库存)(?:下)?(?:了)?(?:最后)?(?:还有|只有|仅有|仅)?(不到|不足|少于|只有)?\s?(` + n + `)\s?` + unitZH + `?|(最后)\s?(` + n + `)\s?` + unitZH + `)`)
	unitEN := `(?:units?|pieces?|items?|pcs|bottles?|boxes?|sets?|pairs?|packs?|jars?|bags?|tins?|cans?)`
	c.reStockEN = regexp.MustCompile(`\b(?:(less than|fewer than|under)\s)?(` + n + `)\s?(?:` + unitEN + `|[a-z]+)??\s?(?:left|remaining|in stock)\b|\blast\s(` + n + `)\s?` + unitEN + `|\bstock(?: is|:)?\s?(?:down to |only |at )?(` + n + `)\b`)
	c.reSalesZH = regexp.MustCompile(`(?:已售|已卖|已经卖了|已经卖出|已经卖出了|卖出了|卖出|卖了|售出|销量|月销|累计销售|累计卖出|已抢|已抢购|热销|热卖|爆卖|狂卖|销售了)(?:了)?(超过|超|近|将近|达|达到|突破|上|过|破)?\s?(` + n + `)\s?(万|千|w|k)?\s?(\+|多|余|加)?\s?(?:` + unitZH + `|笔|人)?|(` + n + `)\s?(万|千|w|k)?\s?(\+|多|余)?\s?(?:人|位)(?:已|已经)?(?:购买|买过|买了|付款|下单|抢购|回购)`)
	c.reSalesEN = regexp.MustCompile(`\bsold\s(over |more than |nearly |almost )?(` + n + `)\s?(k|thousand)?(\+)?|\b(over |more than |nearly )?(` + n + `)\s?(k|thousand)?(\+)?\s?(?:` + unitEN + `|[a-z]+)??\s?(?:happy |satisfied |loyal )?(?:sold|sales|orders|customers|people bought|buyers|shoppers)\b`)
	c.reOriginZH = regexp.MustCompile(`(产自|产于|原产地|产地|原产于|原产自|出产于|出产自|来自|源自|生产于|生产地|制造于)(?:是|为|在|:)?\s?([\p{Han}a-z' ]{1,16})`)
	c.reOriginEN = regexp.MustCompile(`\b(made in|produced in|grown in|manufactured in|harvested in|imported from|sourced from|comes from|come from|grown on|woven in|knitted in|crafted in|handmade in|sewn in|assembled in|designed in|origin:|origin is|from)\s(?:the\s)?([a-z][a-z'. ]{1,40})`)
	c.reSize = regexp.MustCompile(`(` + n + `)\s?(毫升|millilit(?:re|er)s?|ml|升|lit(?:re|er)s?|l|千克|公斤|kilograms?|kilos?|kg|毫克|mg|克|grams?|g|斤|厘米|centimet(?:re|er)s|cm|毫米|mm|米|meters?|metres?|英寸|inch(?:es)?|寸|mah|毫安|瓦|watts|w|伏|v|码|姆米|momme)\b?`)
	c.reDispatch = regexp.MustCompile(`(` + n + `)\s?(小时|天|h|hours?|days?)\s?(?:内|之内|以内|within)?\s?(?:发货|发出|送达|到货|ship|ships|dispatch|delivery|delivered)`)
	c.reFee = regexp.MustCompile(`(?:运费|邮费|快递费|shipping(?: fee| cost)?(?: is)?|delivery fee(?: is)?)\s?(?:只要|仅|是|为|:)?\s?(?:¥|\$)?\s?(` + n + `)(?:\s?(?:元|块钱|块|yuan|dollars|rmb))?`)
	c.reNegZH = regexp.MustCompile(`(?:不|无法|并非|没有|非|不具有|不具备|并不|绝不)(?:能|会|可以|可|能够|具有|具备|用于|用来|是|帮助|帮你|宣称|保证|讲|提|说|主打|宣传|承诺)?$`)
	c.reNegEN = regexp.MustCompile(`\b(?:not|cannot|can't|doesn't|does not|won't|will not|never|no|isn't|is not|don't|do not)\s(?:help\s(?:you\s)?(?:to\s)?|make\s(?:you\s)?|be used to\s|claim to\s|intended to\s|treat\s|cure\s|prevent\s|remove\s|a\s|an\s)?$`)
	c.reQty = regexp.MustCompile(`(?:^|[^0-9a-z.])([2-9]|两|二|三|四|五|六|七|八|九|two|three|four|five|six|seven|eight|nine)\s?(?:[` + measureWords + `]|[a-z]+\s?)?\s?(?:for|只要|仅需|仅要|只需|到手|才|一共|共|总共|合计)?\s?$`)
	c.reWarranty = regexp.MustCompile(`(` + n + `)[\s-]?(年|个月|years?|months?)(?:的)?\s?(?:质保|保修|包换|免费换新|换新|warranty|guarantee|replacement)|(?:质保|保修|整机保修|warranty|guarantee)(?:期)?(?:是|为|:)?\s?(` + n + `)[\s-]?(年|个月|years?|months?)`)
	c.reRate = regexp.MustCompile(`(?:复购率|回购率|好评率|满意度|repurchase rate|repeat purchase rate|satisfaction rate|positive rating)\s?(?:超过|高达|达到|达|是|为|of|over|above|is|:)?\s?([0-9]+(?:\.[0-9]+)?)\s?%|([0-9]+(?:\.[0-9]+)?)\s?%\s?(?:的)?(?:好评|复购|回购|满意|positive reviews?|five-star|satisfaction|repeat customers)`)
	c.reExtractZH = regexp.MustCompile(`(?:含有|添加了|添加|富含|加入了|加入|蕴含)(\p{Han}{2,8}?)(?:精华|提取物|萃取物|原液)`)
	c.reExtractEN = regexp.MustCompile(`\b(?:with|contains|containing|infused with|enriched with|added)\s(?:[a-z]+\s)?([a-z]+)\s(?:extract|extracts|essence)\b`)
	c.reQtyAfter = regexp.MustCompile(`^\s?(?:for\s|/\s?)?([2-9]|two|three|four|five|six|seven|eight|nine|两|二|三|四|五|六|七|八|九)\s?(?:[` + measureWords + `]|\b)`)
	c.rePercentBefore = regexp.MustCompile(`([0-9]+(?:\.[0-9]+)?)\s?%\s?$`)
	c.reSuperlativeEN = regexp.MustCompile(`\b(?:best|greatest|finest|cheapest)\s(?:[a-z]+\s){1,2}(?:ever|of all time|in the world|on the market|in china|in town)\b`)
	c.reDispatchEN = regexp.MustCompile(`\b(?:ships?|shipped|dispatch(?:ed|es)?|sent out|delivered|arrives?)\s(?:with)?in\s(` + n + `)\s?(hours?|days?|h)\b`)
	return c
}

// Check judges every sentence of in.Text.
func (c *Checker) Check(in Input) Result {
	res := Result{OK: true}
	m := &memo{facts: map[*evercast.Product]string{}, keyed: map[*evercast.Product]map[string]string{},
		own: map[*evercast.Product][]string{}}
	for _, p := range in.Catalog {
		if p == nil {
			continue
		}
		for _, t := range p.Title {
			m.titles = append(m.titles, titleOf{p, Normalize(t).Text})
		}
	}
	spans := splitSentences(in.Text)
	for _, sp := range spans {
		v := c.checkSentence(in, sp[0], sp[1], m)
		if !v.OK {
			res.OK = false
		}
		res.Sentences = append(res.Sentences, v)
	}
	c.splitClaims(in.Text, spans, &res)
	return res
}

// splitClaims catches an absolute claim spread over sentences of a word or
// two each ("Best. Honey. Ever.", "全。网。第。一。"): the first sentence of
// such a run gets the verdict, with the whole run as its span.
func (c *Checker) splitClaims(text string, spans [][2]int, res *Result) {
	short := func(k int) bool {
		if !res.Sentences[k].OK || utf8.RuneCountInString(text[spans[k][0]:spans[k][1]]) > 40 {
			return false
		}
		n := strings.Trim(Normalize(text[spans[k][0]:spans[k][1]]).Text, " 。！？!?；;….,，、")
		return res.Sentences[k].OK && n != "" && len(strings.Fields(n)) <= 2 && utf8.RuneCountInString(n) <= 16
	}
	for k := 0; k < len(spans); {
		e := k
		for e < len(spans) && short(e) {
			e++
		}
		if e-k >= 2 {
			parts := make([]string, 0, e-k)
			for m := k; m < e; m++ {
				parts = append(parts, strings.TrimRight(text[spans[m][0]:spans[m][1]], " \n\r\t。！？!?；;….,，、"))
			}
			joined := Normalize(strings.Join(parts, " ")).Text
			allow := c.absAllow.find(joined)
			found := ""
			for _, h := range c.absolute.find(joined) {
				if !covered(h.i, h.j, allow) {
					found = h.term
					break
				}
			}
			if loc := c.reSuperlativeEN.FindStringIndex(joined); found == "" && loc != nil {
				found = joined[loc[0]:loc[1]]
			}
			if found != "" {
				v := &res.Sentences[k]
				v.OK, v.Category = false, CategoryAbsolute
				v.Start, v.End = spans[k][0], spans[e-1][1]
				v.Span = text[v.Start:v.End]
				v.Reason = fmt.Sprintf("absolute claim %q is split across sentences", found)
				res.OK = false
			}
		}
		k = max(e, k+1)
	}
}

// violation is a failed rule: a category, the offending normalised byte
// range and the reason.
type violation struct {
	cat    string
	i, j   int
	reason string
}

// memo holds what one Check computes once for all its sentences.
type memo struct {
	titles []titleOf
	facts  map[*evercast.Product]string
	keyed  map[*evercast.Product]map[string]string // normalised named facts
	own    map[*evercast.Product][]string          // normalised titles
}

// fact returns the normalised text of the product's fact key, both languages.
func (m *memo) fact(p *evercast.Product, key string) string {
	byKey := m.keyed[p]
	if byKey == nil {
		byKey = map[string]string{}
		m.keyed[p] = byKey
	}
	v, ok := byKey[key]
	if !ok {
		v = factText(p, key)
		byKey[key] = v
	}
	return v
}

func (m *memo) ownTitles(p *evercast.Product) []string {
	ts, ok := m.own[p]
	if !ok {
		for _, title := range p.Title {
			if tt := Normalize(title).Text; len(tt) >= 4 {
				ts = append(ts, tt)
			}
		}
		m.own[p] = ts
	}
	return ts
}

type titleOf struct {
	p     *evercast.Product
	title string // normalised
}

func (m *memo) factCorpus(p *evercast.Product) string {
	f, ok := m.facts[p]
	if !ok {
		f = factCorpus(p)
		m.facts[p] = f
	}
	return f
}

func (c *Checker) checkSentence(in Input, start, end int, m *memo) Verdict {
	orig := in.Text[start:end]
	v := Verdict{Sentence: orig, OK: true}
	n := Normalize(orig)
	s := &sentence{text: n.Text, in: in, product: pickProduct(n.Text, in, m.titles), memo: m}
	s.facts = m.factCorpus(s.product)
	for _, ti := range m.titles {
		for off := 0; len(ti.title) >= 4; {
			k := strings.Index(n.Text[off:], ti.title)
			if k < 0 {
				break
			}
			s.titles = append(s.titles, hit{i: off + k, j: off + k + len(ti.title)})
			off += k + len(ti.title)
		}
	}
	if s.product != nil {
		for _, tt := range m.ownTitles(s.product) {
			if k := strings.Index(n.Text, tt); k >= 0 {
				s.titles = append(s.titles, hit{i: k, j: k + len(tt)})
			}
		}
	}
	rules := []func(*sentence) *violation{
		c.ruleAbsolute, c.ruleMedical, c.ruleEfficacy, c.rulePrice, c.ruleOriginalPrice,
		c.ruleStock, c.ruleScarcity, c.ruleSales, c.ruleFacts,
	}
	for _, rule := range rules {
		if x := rule(s); x != nil {
			for x.j > x.i && n.Text[x.j-1] == ' ' {
				x.j--
			}
			for x.i < x.j && n.Text[x.i] == ' ' {
				x.i++
			}
			a, b := n.Original(x.i, x.j)
			v.OK = false
			v.Category = x.cat
			v.Start, v.End = start+a, start+b
			v.Span = in.Text[v.Start:v.End]
			v.Reason = x.reason
			return v
		}
	}
	return v
}

// sentence is the state the rules share for one sentence.
type sentence struct {
	text    string
	in      Input
	product *evercast.Product
	facts   string // normalised title and facts of the product, all languages
	titles  []hit  // where the sentence names a catalog product by its title
	used    [][2]int
	memo    *memo
}

// fact returns the normalised text of the product's fact key.
func (s *sentence) fact(key string) string {
	if s.product == nil {
		return ""
	}
	return s.memo.fact(s.product, key)
}

// claim marks [i, j) as judged, so that later rules skip numbers in it.
func (s *sentence) claim(i, j int) { s.used = append(s.used, [2]int{i, j}) }

func (s *sentence) judged(i, j int) bool {
	for _, u := range s.used {
		if i < u[1] && u[0] < j {
			return true
		}
	}
	return false
}

// pickProduct returns the catalog product the sentence names by its title
// (the longest title wins), else the input's product.
func pickProduct(text string, in Input, titles []titleOf) *evercast.Product {
	var best *evercast.Product
	bestLen := 0
	for _, t := range titles {
		if utf8.RuneCountInString(t.title) >= 2 && len(t.title) >= 4 && len(t.title) > bestLen && strings.Contains(text, t.title) {
			best, bestLen = t.p, len(t.title)
		}
	}
	if best == nil {
		return in.Product
	}
	return best
}

// factCorpus is the normalised text of everything the catalog states about a
// product: title and facts, in every language.
func factCorpus(p *evercast.Product) string {
	if p == nil {
		return ""
	}
	var b strings.Builder
	for _, l := range evercast.Languages() {
		b.WriteString(p.Title[l])
		b.WriteString(" ; ")
	}
	for k, t := range p.Facts {
		if k == "unfiled_claims" {
			continue
		}
		for _, l := range evercast.Languages() {
			b.WriteString(t[l])
			b.WriteString(" ; ")
		}
	}
	return Normalize(b.String()).Text
}

func factText(p *evercast.Product, key string) string {
	if p == nil || p.Facts == nil {
		return ""
	}
	t := p.Facts[key]
	return Normalize(t[evercast.LangZH] + " ; " + t[evercast.LangEN]).Text
}

// splitSentences returns the [start, end) byte ranges of the sentences of
// text: ends at 。！？!?；;…, line breaks, and at "." followed by a space or the
// end when it is not a decimal point or an abbreviation such as "No.".
func splitSentences(text string) [][2]int {
	var out [][2]int
	start := 0
	flush := func(end int) {
		if strings.TrimSpace(strings.Map(dropInvisible, text[start:end])) != "" {
			a := start
			for a < end && (text[a] == ' ' || text[a] == '\t' || text[a] == '\n' || text[a] == '\r') {
				a++
			}
			out = append(out, [2]int{a, end})
		}
		start = end
	}
	for i := 0; i < len(text); {
		r, n := utf8.DecodeRuneInString(text[i:])
		end := -1
		switch r {
		case '。', '！', '？', '!', '?', '；', ';', '…', '\n', '\r':
			end = i + n
		case '.':
			next, _ := utf8.DecodeRuneInString(text[i+n:])
			if i+n >= len(text) || next == ' ' || next == '\n' {
				if !isAbbreviation(text[start:i]) {
					end = i + n
				}
			}
		}
		if end < 0 {
			i += n
			continue
		}
		// keep following terminators and closing quotes with this sentence
		for end < len(text) {
			r2, n2 := utf8.DecodeRuneInString(text[end:])
			if strings.ContainsRune("。！？!?；;….」』”’\")）", r2) {
				end += n2
				continue
			}
			break
		}
		flush(end)
		i = end
	}
	if start < len(text) {
		flush(len(text))
	}
	return out
}

func dropInvisible(r rune) rune {
	if r == 0x200B || r == 0x200C || r == 0x200D || r == 0x2060 || r == 0xFEFF || r == 0xAD {
		return -1
	}
	return r
}

func isAbbreviation(before string) bool {
	w := before
	if k := strings.LastIndexAny(w, " \t\n(\"'"); k >= 0 {
		w = w[k+1:]
	}
	switch strings.ToLower(w) {
	case "no", "mr", "mrs", "ms", "dr", "st", "vs", "e.g", "i.e", "approx", "etc", "u.s", "inc", "ltd", "co":
		return true
	}
	return false
}
