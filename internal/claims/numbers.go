package claims

import (
	"strconv"
	"strings"
	"unicode/utf8"
)

// English number words: "ninety-nine", "one hundred and thirty-eight",
// "forty-nine point nine", "a dozen", "ten thousand", "half a million".
const (
	enUnits    = `one|two|three|four|five|six|seven|eight|nine`
	enTeens    = `ten|eleven|twelve|thirteen|fourteen|fifteen|sixteen|seventeen|eighteen|nineteen`
	enTens     = `twenty|thirty|forty|fifty|sixty|seventy|eighty|ninety`
	enBelow100 = `(?:(?:` + enTens + `)(?:[- ](?:` + enUnits + `))?|` + enTeens + `|` + enUnits + `)`
	enHundreds = `(?:(?:a|` + enUnits + `)\shundred(?:\s(?:and\s)?` + enBelow100 + `)?|hundred)`
	enBig      = `(?:half\sa|a|` + enHundreds + `|` + enBelow100 + `)\s(?:dozen|thousand|million)(?:\s(?:and\s)?(?:` + enHundreds + `|` + enBelow100 + `))?`
	enNumber   = `\b(?:` + enBig + `|` + enHundreds + `|` + enBelow100 + `|zero|dozen)(?:\spoint\s(?:` + enUnits + `|zero)(?:[ -](?:` + enUnits + `|zero))?)?\b`
)

// numPattern matches a number in normalised text: Arabic digits with optional
// thousands separators and decimals (1,299.90), Chinese numerals with an
// optional decimal part (一百二十九点九), or English number words.
const numPattern = `(?:[0-9]+(?:,[0-9]{3})*(?:\.[0-9]+)?|[零〇一二两三四五六七八九十百千万亿][零〇一二两三四五六七八九十百千万亿点]*|` + enNumber + `)`

var hanDigit = map[rune]int64{'零': 0, '〇': 0, '一': 1, '二': 2, '两': 2, '三': 3, '四': 4, '五': 5, '六': 6, '七': 7, '八': 8, '九': 9}

var hanUnit = map[rune]int64{'十': 10, '百': 100, '千': 1000}

var englishNumbers = map[string]int64{
	"zero": 0, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8,
	"nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13, "fourteen": 14, "fifteen": 15,
	"sixteen": 16, "seventeen": 17, "eighteen": 18, "nineteen": 19, "twenty": 20, "thirty": 30,
	"forty": 40, "fifty": 50, "sixty": 60, "seventy": 70, "eighty": 80, "ninety": 90,
}

// maxNumber bounds parsed values (in hundredths) so that arithmetic on them
// cannot overflow.
const maxNumber = int64(1) << 50

// parseNumber parses a token matched by numPattern into hundredths
// (129.9 → 12990). ok is false for tokens that are not a number.
func parseNumber(s string) (int64, bool) {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, false
	}
	if isASCIILetter(rune(s[0])) {
		return parseEnglish(s)
	}
	if s[0] >= '0' && s[0] <= '9' {
		return parseArabic(s)
	}
	return parseHan(s)
}

// parseEnglish parses number words matched by enNumber: "twenty",
// "ninety-nine", "a hundred", "one hundred and thirty-eight", "forty-nine
// point nine", "a dozen", "ten thousand", "half a million".
func parseEnglish(s string) (int64, bool) {
	var total, cur, frac int64
	scale := int64(10) // of the next fraction digit, in hundredths
	inFrac, half, any := false, false, false
	mult := func(m int64) {
		if cur == 0 {
			cur = 1
		}
		v := cur * m
		if half {
			v /= 2
			half = false
		}
		total += v
		cur = 0
		any = true
	}
	for _, w := range strings.FieldsFunc(s, func(r rune) bool { return r == ' ' || r == '-' }) {
		switch w {
		case "and", "a":
			continue
		case "half":
			half = true
			continue
		case "point":
			inFrac = true
			continue
		case "hundred":
			if cur == 0 {
				cur = 1
			}
			cur *= 100
			any = true
			continue
		case "dozen":
			mult(12)
			continue
		case "thousand":
			mult(1000)
			continue
		case "million":
			mult(1000000)
			continue
		}
		v, ok := englishNumbers[w]
		if !ok {
			return 0, false
		}
		any = true
		if inFrac {
			if v > 9 || scale == 0 {
				return 0, false
			}
			frac += v * scale
			scale /= 10
			continue
		}
		cur += v
	}
	if !any {
		return 0, false
	}
	return (total+cur)*100 + frac, true
}

func parseArabic(s string) (int64, bool) {
	s = strings.ReplaceAll(s, ",", "")
	whole, frac, _ := strings.Cut(s, ".")
	if len(whole) > 13 || whole == "" {
		return 0, false
	}
	w, err := strconv.ParseInt(whole, 10, 64)
	if err != nil {
		return 0, false
	}
	frac = (frac + "00")[:2]
	f, err := strconv.ParseInt(frac, 10, 64)
	if err != nil {
		return 0, false
	}
	return w*100 + f, true
}

// parseHan parses Chinese numerals: 十九, 一百二十九, 两百, 一千零五, 一百二
// (colloquial 120), 三万五 (35000), 一九九 (digit by digit), 一百二十九点九.
func parseHan(s string) (int64, bool) {
	s = strings.TrimRight(s, "点")
	intPart, frac, _ := strings.Cut(s, "点")
	if utf8.RuneCountInString(intPart) > 20 || intPart == "" {
		return 0, false
	}
	hasUnit := strings.ContainsAny(intPart, "十百千万亿")
	var v int64
	if !hasUnit {
		for _, r := range intPart {
			d, ok := hanDigit[r]
			if !ok {
				return 0, false
			}
			v = v*10 + d
			if v > maxNumber/100 {
				return 0, false
			}
		}
	} else {
		var total, section int64
		num := int64(-1)
		var lastUnit int64
		prevUnit, afterUnit := false, false
		for _, r := range intPart {
			if d, ok := hanDigit[r]; ok {
				if d == 0 {
					lastUnit = 0
					prevUnit = false
					num = -1
					continue
				}
				if num >= 0 && !prevUnit {
					return 0, false // two digits in a row inside a unit number
				}
				num = d
				afterUnit = prevUnit
				prevUnit = false
				continue
			}
			if u, ok := hanUnit[r]; ok {
				if num < 0 {
					num = 1
				}
				section += num * u
				num = -1
				lastUnit = u
				prevUnit = true
				continue
			}
			big := int64(10000)
			if r == '亿' {
				big = 100000000
			}
			if num >= 0 {
				section += num
			}
			if section == 0 {
				section = 1
			}
			total = (total + section) * big
			if total > maxNumber/100 {
				return 0, false
			}
			section, num = 0, -1
			lastUnit = big
			prevUnit = true
		}
		if num >= 0 {
			if afterUnit && lastUnit >= 100 {
				num = num * lastUnit / 10 // 一百二 = 120, 三万五 = 35000
			}
			section += num
		}
		v = total + section
	}
	if v > maxNumber/100 {
		return 0, false
	}
	v *= 100
	fr := []rune(frac)
	for i, scale := 0, int64(10); i < len(fr) && i < 2; i, scale = i+1, scale/10 {
		d, ok := hanDigit[fr[i]]
		if !ok {
			return 0, false
		}
		v += d * scale
	}
	return v, true
}
