package moderation

import (
	"embed"
	"regexp"
	"sort"
	"strings"
	"sync"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/evercast/evercast"
	"github.com/evercast/evercast/internal/claims"
)

// Comment is a viewer comment.
type Comment struct {
	ID   string    `json:"id"`
	User string    `json:"user"`
	Text string    `json:"text"`
	At   time.Time `json:"at"`
}

// Actions.
const (
	ActionAnswer = "answer"
	ActionGreet  = "greet"
	ActionIgnore = "ignore"
)

// Reasons for ignoring a comment.
const (
	ReasonAbuse        = "abuse"
	ReasonSpam         = "spam"
	ReasonPersonalData = "personal_data"
	ReasonInjection    = "injection"
	ReasonOther        = "other"
)

// Intents.
const (
	IntentPrice    = "price"
	IntentStock    = "stock"
	IntentSize     = "size"
	IntentOrigin   = "origin"
	IntentShipping = "shipping"
	IntentMaterial = "material"
	IntentUsage    = "usage"
	IntentHuman    = "human"
	IntentGreeting = "greeting"
	IntentOther    = "other"
)

// Intents lists the intents Classify recognises, "other" last.
func Intents() []string {
	return []string{IntentPrice, IntentStock, IntentSize, IntentOrigin, IntentShipping, IntentMaterial,
		IntentUsage, IntentHuman, IntentGreeting, IntentOther}
}

// MaxRunes is how much of a comment is read; the rest is ignored.
const MaxRunes = 500

// Decision is what to do with a comment.
type Decision struct {
	// Action is "answer", "greet" or "ignore".
	Action string
	// Reason is why: for "ignore" one of abuse, spam, personal_data,
	// injection, other; for "answer" and "greet" the intent.
	Reason string
	// Intent is price, stock, size, origin, shipping, material, usage, human,
	// greeting or other ("" when the comment was moderated away).
	Intent string
	// SKU is the product the comment names, if any.
	SKU string
}

//go:embed lexicon/*.txt
var lexiconFS embed.FS

type phrase struct {
	text   string // normalised
	intent string
}

// rules are the moderation lexicons and patterns, built once and never
// changed afterwards.
type rules struct {
	abuse, spam, injection                                            []phrase
	intents                                                           []phrase
	reURL, rePhone, reLandline, reID, reCard, reEmail, reHandle, reQQ *regexp.Regexp
	reAddrZH, reAddrEN, reSKU                                         *regexp.Regexp
	reEmailSpelled, reIntlPhone, reOwnHandle, reSecret, reSpam        *regexp.Regexp
	reInjection                                                       *regexp.Regexp
	intentREs                                                         []intentRE
}

var loadRules = sync.OnceValue(func() *rules {
	r := &rules{
		abuse:     phrases("abuse.txt", ""),
		spam:      phrases("spam.txt", ""),
		injection: phrases("injection.txt", ""),
	}
	for _, l := range lines("intents.txt") {
		intent, rest, ok := strings.Cut(l, ":")
		if !ok {
			continue
		}
		for _, t := range strings.Split(rest, "|") {
			if n := claims.Normalize(strings.TrimSpace(t)).Text; n != "" {
				r.intents = append(r.intents, phrase{n, strings.TrimSpace(intent)})
			}
		}
	}
	sort.SliceStable(r.intents, func(a, b int) bool { return len(r.intents[a].text) > len(r.intents[b].text) })
	r.reURL = regexp.MustCompile(`https?:|www\.|\b[a-z0-9-]+\.(?:com|cn|net|org|top|xyz|io|cc|me|vip|shop|info|link|club|ly|gl)\b|t\.cn/|\bdot (?:com|net|org|cn)\b`)
	r.rePhone = regexp.MustCompile(`(?:^|[^0-9])(?:\+?86[ .-]?)?1[3-9][0-9](?:[ .-]?[0-9]){8}(?:[^0-9]|$)`)
	r.reIntlPhone = regexp.MustCompile(`\+[1-9][0-9]{0,2}[ .-]?(?:[0-9][ .-]?){7,12}[0-9]`)
	r.reEmailSpelled = regexp.MustCompile(`\b[a-z0-9._-]+\s?(?:\bat\b|\[at\]|\(at\))\s?[a-z0-9-]+\s?(?:\bdot\b|\[dot\]|\(dot\))\s?(?:com|cn|net|org)\b`)
	r.reOwnHandle = regexp.MustCompile(`(?:我的(?:微信|微信号|vx|wx|qq|扣扣|whatsapp|telegram|line)|我(?:微信|qq)(?:号)?\s?(?:是|:))(?:号|id)?\s?(?:是|:)?\s?[a-z0-9]|\bmy (?:wechat|weixin|qq|whatsapp|telegram|line|instagram|ig)(?: id| number| handle)?(?: is|:)\s?\S`)
	r.reSecret = regexp.MustCompile(`(?:密码|口令|验证码|支付密码|password|passcode|pin code|verification code)\s?(?:是|为|:|is)?\s?[^\s]{3,}`)
	r.reSpam = regexp.MustCompile(`earn \$?[0-9]+|link in (?:my )?bio|click here|点我头像|看我头像|点头像|私我`)
	r.reInjection = regexp.MustCompile(`(?:忽略|无视|忘记|忘掉|不要管|别管|跳过|不用管|不要理)[^。！？!?]{0,12}(?:指令|规则|设定|限制|提示|要求|命令|规定)` +
		`|从现在(?:开始|起)[,，\s]*你` +
		`|(?:说|念|读|喊|复述|重复一遍|回复|\bsay|\brepeat|\brespond(?: only)? with|\breply(?: only)? with|\banswer(?: only)? with|\btype)\s?[:：]?\s?["“'‘「『]` + // say a quoted phrase
		`|你(?:只能|必须|就要|得|一定要)说|\byou (?:must|have to|should|will) (?:now )?say\b` +
		`|重复一遍\s?[:：]` +
		`|\bfrom now on,?\s(?:you|only|always|never|answer|reply|respond|speak|talk)` +
		`|(?:\btranslate|翻译)[^:：]{0,20}[:：]` +
		`|\bignore\b[^.!?]{0,30}\b(?:instructions?|rules|prompts?|guidelines)\b`)
	r.reLandline = regexp.MustCompile(`(?:^|[^0-9])0[1-9][0-9]{1,2}[ -]?[0-9]{7,8}(?:[^0-9]|$)`)
	r.reID = regexp.MustCompile(`(?:^|[^0-9])[1-9][0-9]{16}[0-9x](?:[^0-9a-z]|$)`)
	r.reCard = regexp.MustCompile(`(?:^|[^0-9])[0-9]{16,19}(?:[^0-9]|$)`)
	r.reEmail = regexp.MustCompile(`[a-z0-9._%+-]+@[a-z0-9.-]+\.[a-z]{2,}`)
	r.reHandle = regexp.MustCompile(`(?:(?:微信|微信号|vx|v信|wx|weixin|wechat|威信|薇信|加v|line|whatsapp|telegram)\s?(?:号|id)?\s?(?:是|:|：)?|\bv\s?[:：])\s?[a-z0-9][a-z0-9_-]{4,19}`)
	r.reQQ = regexp.MustCompile(`(?:qq|扣扣|企鹅)\s?(?:号|群)?\s?(?:是|:)?\s?[0-9]{5,11}`)
	r.reAddrZH = regexp.MustCompile(`[\p{Han}0-9]{1,10}(?:路|街|道|巷|弄|大道)[0-9一二三四五六七八九十百]+号|[0-9]+(?:栋|幢|单元|号楼|室)|我家住在|我住在|我的地址|我家地址|收货地址是|小区[0-9]+`)
	r.reAddrEN = regexp.MustCompile(`\b[0-9]+[a-z]?\s[a-z]+(?:\s[a-z]+)?\s(?:street|st|road|rd|avenue|ave|lane|ln|drive|dr|boulevard|blvd)\b|\bmy address\b|\bi live at\b`)
	r.intentREs = []intentRE{
		{regexp.MustCompile(`\bwhere\b[^?.!]{0,30}\b(?:from|made|produced|grown|manufactured)\b`), IntentOrigin},
		{regexp.MustCompile(`^\s*(?:h+i{2,}|he+y{2,}|hel+o{2,})\b`), IntentGreeting},
		// 主播好 greets; 主播好可爱 does not
		{regexp.MustCompile(`主播好(?:$|[呀啊哦吖呢~!！。,，\s]|\p{So})`), IntentGreeting},
	}
	r.reSKU = regexp.MustCompile(`\b[a-z]{1,8}-[0-9]{1,6}(?:-[a-z0-9]{1,6})?\b`)
	return r
})

func lines(name string) []string {
	b, err := lexiconFS.ReadFile("lexicon/" + name)
	if err != nil {
		panic("moderation: embedded lexicon missing: " + name) // a build defect, caught by every test
	}
	var out []string
	for _, l := range strings.Split(string(b), "\n") {
		l = strings.TrimSpace(l)
		if l != "" && !strings.HasPrefix(l, "#") {
			out = append(out, l)
		}
	}
	return out
}

func phrases(name, intent string) []phrase {
	var out []phrase
	for _, l := range lines(name) {
		if n := claims.Normalize(l).Text; n != "" {
			out = append(out, phrase{n, intent})
		}
	}
	return out
}

func wordish(r rune) bool { return r < 0x80 && (unicode.IsLetter(r) || unicode.IsDigit(r)) }

// index finds p in t; phrases that start or end with an ASCII letter or
// digit match whole words only. It returns -1 when absent.
func index(t, p string) int {
	first, _ := utf8.DecodeRuneInString(p)
	last, _ := utf8.DecodeLastRuneInString(p)
	for off := 0; off <= len(t); {
		k := strings.Index(t[off:], p)
		if k < 0 {
			return -1
		}
		i := off + k
		j := i + len(p)
		off = i + 1
		if wordish(first) && i > 0 {
			if r, _ := utf8.DecodeLastRuneInString(t[:i]); wordish(r) {
				continue
			}
		}
		if wordish(last) && j < len(t) {
			if r, _ := utf8.DecodeRuneInString(t[j:]); wordish(r) {
				continue
			}
		}
		return i
	}
	return -1
}

func anyPhrase(t string, ps []phrase) bool {
	for _, p := range ps {
		if index(t, p.text) >= 0 {
			return true
		}
	}
	return false
}

// capRunes keeps the first n runes of s.
func capRunes(s string, n int) string {
	count := 0
	for i := range s {
		if count == n {
			return s[:i]
		}
		count++
	}
	return s
}

var hanDigits = strings.NewReplacer("零", "0", "〇", "0", "一", "1", "幺", "1", "二", "2", "两", "2", "三", "3",
	"四", "4", "五", "5", "六", "6", "七", "7", "八", "8", "九", "9",
	// financial numerals (壹 is already 一 after normalising)
	"贰", "2", "叁", "3", "肆", "4", "伍", "5", "陆", "6", "柒", "7", "捌", "8", "玖", "9")

// containsWord reports whether t contains any of the words (substrings).
func containsWord(t string, words ...string) bool {
	for _, w := range words {
		if strings.Contains(t, w) {
			return true
		}
	}
	return false
}

// dropSymbol removes emoji and other symbols: "V❤：abc123".
func dropSymbol(r rune) rune {
	if unicode.Is(unicode.So, r) || unicode.Is(unicode.Sk, r) {
		return -1
	}
	return r
}

// repeated reports a rune repeated 6 times or more in a row, or a text that
// is one short unit repeated 4 times or more ("买买买买", "666666").
func repeated(t string) bool {
	rs := []rune(strings.ReplaceAll(t, " ", ""))
	run := 1
	for i := 1; i < len(rs); i++ {
		if rs[i] == rs[i-1] && !unicode.IsPunct(rs[i]) && !unicode.IsSymbol(rs[i]) {
			run++
			if run >= 6 {
				return true
			}
		} else {
			run = 1
		}
	}
	for unit := 2; unit <= 4 && unit*4 <= len(rs); unit++ {
		same := true
		for i := unit; i < len(rs) && same; i++ {
			same = rs[i] == rs[i-unit]
		}
		if same {
			return true
		}
	}
	return false
}

// Classify decides what to do with a comment. Moderation comes first: abuse,
// spam, personal data and attempts to instruct the anchor are ignored with
// that reason. Then the intent: product questions and "are you a real
// person?" are answered, greetings greeted, anything else ignored as
// "other". Only the first MaxRunes runes are read; any input is safe.
func Classify(c Comment, lang evercast.Language) Decision {
	r := loadRules()
	raw := capRunes(strings.ToValidUTF8(c.Text, "\uFFFD"), MaxRunes)
	t := claims.Normalize(raw).Text
	if strings.Trim(t, " \uFFFD") == "" {
		return Decision{Action: ActionIgnore, Reason: ReasonOther, Intent: IntentOther}
	}
	pii := hanDigits.Replace(t)
	compact := strings.NewReplacer(" ", "", "-", "", ".", "").Replace(pii)
	bare := strings.Map(dropSymbol, pii) // "V❤：abc123" → "v:abc123"
	switch {
	case anyPhrase(t, r.abuse):
		return Decision{Action: ActionIgnore, Reason: ReasonAbuse}
	case r.reEmail.MatchString(t) || r.reEmailSpelled.MatchString(t) && containsWord(t, "mail", "邮箱") ||
		r.rePhone.MatchString(pii) || r.rePhone.MatchString(compact) || r.reIntlPhone.MatchString(pii) || r.reLandline.MatchString(pii) ||
		r.reID.MatchString(compact) || r.reCard.MatchString(compact) || r.reAddrZH.MatchString(t) ||
		r.reAddrZH.MatchString(pii) || r.reAddrEN.MatchString(t) || r.reOwnHandle.MatchString(pii) ||
		r.reSecret.MatchString(t):
		// Before spam: a viewer's own number, address, handle or password is
		// personal data even when it reads like solicitation.
		return Decision{Action: ActionIgnore, Reason: ReasonPersonalData}
	case r.reURL.MatchString(t) || r.reHandle.MatchString(bare) || r.reQQ.MatchString(pii) ||
		anyPhrase(t, r.spam) || r.reSpam.MatchString(t) || repeated(t):
		return Decision{Action: ActionIgnore, Reason: ReasonSpam}
	case anyPhrase(t, r.injection) || r.reInjection.MatchString(t):
		return Decision{Action: ActionIgnore, Reason: ReasonInjection}
	}
	d := Decision{Intent: intentOf(t, r)}
	if m := r.reSKU.FindString(t); m != "" && strings.IndexFunc(m, unicode.IsDigit) >= 0 && strings.IndexFunc(m, unicode.IsLetter) >= 0 {
		d.SKU = strings.ToUpper(m)
	}
	switch d.Intent {
	case IntentGreeting:
		d.Action, d.Reason = ActionGreet, IntentGreeting
	case IntentOther:
		d.Action, d.Reason = ActionIgnore, ReasonOther
	default:
		d.Action, d.Reason = ActionAnswer, d.Intent
	}
	return d
}

// intentRE is an intent recognised by pattern rather than phrase.
type intentRE struct {
	re     *regexp.Regexp
	intent string
}

// intentOf returns the intent of the earliest intent phrase; "human" wins
// over all, and a greeting yields to any question.
func intentOf(t string, r *rules) string {
	best, bestAt := IntentOther, len(t)+1
	greeting := false
	hits := make([]phrase, 0, 4)
	for _, p := range r.intents {
		if index(t, p.text) >= 0 {
			hits = append(hits, p)
		}
	}
	for _, x := range r.intentREs {
		if loc := x.re.FindStringIndex(t); loc != nil {
			hits = append(hits, phrase{t[loc[0]:loc[1]], x.intent})
		}
	}
	for _, p := range hits {
		k := index(t, p.text)
		if k < 0 {
			k = strings.Index(t, p.text)
		}
		if k < 0 {
			continue
		}
		switch p.intent {
		case IntentHuman:
			return IntentHuman
		case IntentGreeting:
			greeting = true
			continue
		}
		if k < bestAt {
			best, bestAt = p.intent, k
		}
	}
	if best == IntentOther && greeting {
		return IntentGreeting
	}
	return best
}

// ClassifyFor is Classify that also names the catalog product the comment
// refers to, by SKU or by title.
func ClassifyFor(products []*evercast.Product, c Comment, lang evercast.Language) Decision {
	d := Classify(c, lang)
	if d.Action == ActionIgnore && d.Reason != ReasonOther {
		return d
	}
	if p := namedProduct(products, d.SKU, capRunes(c.Text, MaxRunes)); p != nil {
		d.SKU = p.SKU
	} else {
		d.SKU = ""
	}
	return d
}

// namedProduct finds the product with the SKU, else the one whose title
// the text names best: the most title bigrams (Han) and title words of four
// letters or more found in the text, with no tie.
func namedProduct(products []*evercast.Product, sku, text string) *evercast.Product {
	if sku != "" {
		for _, p := range products {
			if p != nil && strings.EqualFold(p.SKU, sku) {
				return p
			}
		}
	}
	t := claims.Normalize(text).Text
	var best *evercast.Product
	bestScore, tie := 0, false
	for _, p := range products {
		if p == nil {
			continue
		}
		score := 0
		if n := claims.Normalize(p.SKU).Text; len(n) >= 2 && index(t, n) >= 0 {
			score += 100
		}
		seen := map[string]bool{}
		for _, title := range p.Title {
			n := []rune(claims.Normalize(title).Text)
			for i := 0; i+1 < len(n); i++ {
				if unicode.Is(unicode.Han, n[i]) && unicode.Is(unicode.Han, n[i+1]) {
					bg := string(n[i : i+2])
					if !seen[bg] && strings.Contains(t, bg) {
						seen[bg] = true
						score++
					}
				}
			}
			for _, w := range strings.FieldsFunc(string(n), func(r rune) bool { return !(r >= 'a' && r <= 'z') }) {
				if len(w) >= 4 && !seen[w] && index(t, w) >= 0 {
					seen[w] = true
					score++
				}
			}
		}
		switch {
		case score > bestScore:
			best, bestScore, tie = p, score, false
		case score == bestScore && score > 0:
			tie = true
		}
	}
	if tie {
		return nil
	}
	return best
}
