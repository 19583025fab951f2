package claims

import (
	"strings"
	"testing"
	"time"

	"github.com/evercast/evercast"
)

type checkCase struct {
	product string // fixture key; "" for no product
	text    string
	cat     string // "" when the text must pass
	span    string // expected span as written; "" to skip the span check
}

// checkCases are the rule tables, both languages. Fixtures: fixtures_test.go.
var checkCases = []checkCase{
	// ---- absolute terms ----
	{"tea", "这是全网最低价", "absolute", "全网最低"},
	{"tea", "我们的茶叶品质最好", "absolute", "最好"},
	{"tea", "销量第一的龙井", "absolute", "销量第一"},
	{"tea", "国家级非遗工艺", "absolute", "国家级"},
	{"tea", "顶级龙井", "absolute", "顶级"},
	{"tea", "唯一正宗的龙井", "absolute", "唯一"},
	{"tea", "绝对正宗", "absolute", "绝对"},
	{"shirt", "100%正品", "absolute", "100%"},
	{"tea", "史上最低价", "absolute", "史上最低"},
	{"tea", "万能的好茶", "absolute", "万能"},
	{"tea", "国内首个有机茶园", "absolute", "首个"},
	{"tea", "这是我们的王牌产品", "absolute", "王牌"},
	{"tea", "最佳选择", "absolute", "最佳"},
	{"tea", "极品龙井", "absolute", "极品"},
	{"tea", "独一无二的口感", "absolute", "独一无二"},
	{"tea", "送礼首选", "absolute", "首选"},
	{"tea", "全网第一", "absolute", "全网第一"},
	{"tea", "冠军品质", "absolute", "冠军"},
	{"tea", "这是TOP1的茶", "absolute", "TOP1"},
	{"tea", "世界级工艺", "absolute", "世界级"},
	// evasions
	{"tea", "最 好 的 茶", "absolute", "最 好"},
	{"tea", "最\u200b好的茶", "absolute", "最\u200b好"},
	{"tea", "最\u00ad好的茶", "absolute", "最\u00ad好"},
	{"tea", "最\u2060好\ufeff的茶", "absolute", "最\u2060好"},
	{"tea", "ｚｕｉ好的茶", "absolute", "ｚｕｉ好"},
	{"tea", "絕對正宗", "absolute", "絕對"},
	{"tea", "頂級龍井", "absolute", "頂級"},
	{"tea", "國家級工藝", "absolute", "國家級"},
	{"tea", "惟一正宗", "absolute", "惟一"},
	{"tea", "苐一名的茶", "absolute", "苐一名"},
	{"tea", "zui4好喝的茶", "absolute", "zui4好"},
	{"tea", "这是zui低价", "absolute", "zui低价"},
	{"tea", "这是 zui 低价", "absolute", "zui 低价"},
	{"tea", "dì yī 名的茶", "absolute", "dì yī 名"},
	{"tea", "di yi的品质", "absolute", "di yi"},
	{"tea", "DI4 YI1的品质", "absolute", "DI4 YI1"},
	{"tea", "jue dui好喝", "absolute", "jue dui"},
	{"tea", "NO.1的龙井", "absolute", "NO.1"},
	{"tea", "Ｎｏ．１的龙井", "absolute", "Ｎｏ．１"},
	{"tea", "第①的品质", "absolute", "第①"},
	{"tea", "第1名", "absolute", "第1名"},
	{"tea", "罪低价来了", "absolute", "罪低价"},
	{"tea", "醉美的西湖", "absolute", "醉"},
	{"tea", "决对好喝", "absolute", "决对"},
	{"tea", "弟一名", "absolute", "弟一名"},
	{"tea", "鼎级好茶", "absolute", "鼎级"},
	{"tea", "百分之百好评", "absolute", "百分之百"},
	{"tea", "百分百满意", "absolute", "百分百"},
	{"tea", "最-好的茶", "absolute", "最-好"},
	{"tea", "最*低*价", "absolute", "最*低*价"},
	{"tea", "全 网 最 低", "absolute", "全 网 最 低"},
	{"tea", "最🔥好", "absolute", "最🔥好"},
	{"tea", "顶　级好茶", "absolute", "顶　级"},
	{"tea", "ＮＯ１", "absolute", "ＮＯ１"},
	{"tea", "number one tea in Hangzhou", "absolute", "number one"},
	{"tea", "No 1 seller here", "absolute", "No 1"},
	{"tea", "This is the best tea", "absolute", "the best"},
	{"tea", "best ever taste", "absolute", "best ever"},
	{"tea", "the lowest price ever", "absolute", "lowest price ever"},
	{"tea", "Results guaranteed", "absolute", "guaranteed"},
	{"tea", "THE BEST", "absolute", "THE BEST"},
	{"tea", "the b e s t tea", "absolute", "the b e s t"},
	{"tea", "Ｔｈｅ　ｂｅｓｔ", "absolute", "Ｔｈｅ　ｂｅｓｔ"},
	{"tea", "The #1 tea", "absolute", "#1"},
	{"tea", "world-class quality", "absolute", "world-class"},
	{"tea", "100% guaranteed", "absolute", "100%"},
	{"tea", "the cheapest in town", "absolute", "cheapest"},
	{"tea", "the\u200b best", "absolute", "the\u200b best"},
	// ordinary words that share characters
	{"tea", "最近很多朋友问这款茶", "", ""},
	{"tea", "最后一批新茶到了", "", ""}, // scarcity, and stock is low
	{"tea", "第一次来直播间的朋友", "", ""},
	{"tea", "第一步，先温杯", "", ""},
	{"tea", "第1次喝龙井", "", ""},
	{"tea", "唯一的区别是采摘时间", "", ""},
	{"tea", "The first thing to know is the water temperature.", "", ""},
	{"tea", "Best before June 2026.", "", ""},
	{"tea", "First of all, warm the cup.", "", ""},
	{"shirt", "100%纯棉", "", ""},
	{"shirt", "100% cotton fabric", "", ""},
	{"tea", "100%纯棉", "absolute", "100%"},
	{"mug", "杯子只要100元", "", ""},
	{"mug", "It is 100 yuan.", "", ""},
	{"tea", "最终解释权归商家所有", "", ""},
	{"tea", "最多买两件", "", ""},
	{"shirt", "这是最新款", "", ""},
	{"tea", "The only difference is the leaf size.", "", ""},
	{"tea", "最好是用80度的水冲泡", "", ""},
	{"tea", "大家最近好吗", "", ""},
	{"tea", "喝醉了可不行", "", ""},
	{"tea", "今天第一款是龙井", "", ""},
	{"tea", "It's the best way to brew green tea.", "", ""},

	// ---- efficacy and medical ----
	{"tea", "喝了能减肥", "efficacy", "减肥"},
	{"tea", "这款茶可以降血压", "medical", "降血压"},
	{"tea", "长期喝能抗癌", "medical", "抗癌"},
	{"tea", "清热解毒", "efficacy", "清热解毒"},
	{"tea", "喝了能瘦身", "efficacy", "瘦身"},
	{"tea", "This tea helps you lose weight.", "efficacy", "lose weight"},
	{"tea", "It cures colds.", "medical", "cures"},
	{"tea", "an anti-cancer tea", "medical", "anti-cancer"},
	{"tea", "減肥茶", "efficacy", "減肥"},
	{"tea", "减\u200b肥茶", "efficacy", "减\u200b肥"},
	{"tea", "jian fei茶", "efficacy", "jian fei"},
	{"tea", "喝了可以助眠", "efficacy", "助眠"},
	{"tea", "不能减肥哦", "", ""},
	{"tea", "tasty treats for the afternoon", "", ""},
	{"cream", "美白淡斑", "", ""},
	{"cream", "whitening cream", "", ""},
	{"cream", "祛痘效果好", "unfiled_claim", "祛痘"},
	{"cream", "还能抗衰老", "unfiled_claim", "抗衰老"},
	{"cream", "防脱发", "unfiled_claim", "防脱发"},
	{"cream", "可以防晒", "unfiled_claim", "防晒"},
	{"cream", "能治疗湿疹", "medical", "治疗"},
	{"cream", "It is anti-aging.", "unfiled_claim", "anti-aging"},
	{"vitamin", "增强免疫力", "", ""},
	{"vitamin", "提高免疫力", "", ""},
	{"vitamin", "It boosts immunity.", "", ""},
	{"vitamin", "还能减肥", "unfiled_claim", "减肥"},
	{"vitamin", "可以治愈感冒", "medical", "治愈"},
	{"vitamin", "本品不能代替药物", "", ""},
	{"device", "可以测量血压", "", ""},
	{"device", "能降血压", "medical", "降血压"},
	{"shirt", "穿上显瘦", "", ""},
	{"shirt", "杀菌面料", "efficacy", "杀菌"},
	{"usd", "It kills bacteria.", "efficacy", "kills bacteria"},
	{"tea", "shou shen必备", "efficacy", "shou shen"},
	{"tea", "喝了能防癌", "medical", "防癌"},

	// ---- price ----
	{"tea", "现在只要99.9元", "", ""},
	{"tea", "价格是129.9元", "", ""},
	{"tea", "价格129.90元", "", ""},
	{"tea", "只要¥99.9", "", ""},
	{"tea", "只要￥９９．９", "", ""},
	{"tea", "价格129块9", "", ""},
	{"tea", "价格一百二十九块九", "", ""},
	{"tea", "直播间九十九块九", "", ""},
	{"tea", "到手价99块9毛", "", ""},
	{"tea", "价格：一百二十九点九元", "", ""},
	{"tea", "到手价89元", "price", "89元"},
	{"tea", "只要一百元", "price", "一百元"},
	{"tea", "现在只要129.9元", "price", "129.9元"},
	{"tea", "两件只要199", "price", "199"},
	{"tea", "Only 99.9 yuan now.", "", ""},
	{"tea", "It costs $129.90.", "price", "$129.90"},
	{"usd", "It costs $49.99.", "", ""},
	{"usd", "only 49.99 dollars", "", ""},
	{"usd", "It is $39.99 today.", "price", "$39.99"},
	{"tea", "立减30元", "", ""},
	{"tea", "立减50元", "price", "50元"},
	{"shirt", "打八折", "price", "八折"},
	{"tea", "7.7折", "", ""},
	{"tea", "5折", "price", "5折"},
	{"cream", "半价", "price", "半价"},
	{"tea", "这款茶一共有两种包装", "", ""},
	{"shirt", "只要99元", "", ""},
	{"tea", "价格1,299元", "price", "1,299元"},

	// ---- original price ----
	{"tea", "原价119.9", "", ""},
	{"tea", "原价129.9", "original_price", "原价129.9"},
	{"tea", "划线价119.9元", "", ""},
	{"tea", "It was 119.9 yuan, now 99.9 yuan.", "", ""},
	{"tea", "It was 129.9 yuan.", "original_price", "was 129.9 yuan"},
	{"shirt", "原价129元，现在99元", "original_price", "原价129元"},
	{"shirt", "比原价便宜多了", "original_price", "原价"},
	{"cream", "专柜价259元", "", ""},
	{"cream", "专柜价299元", "original_price", "专柜价299元"},
	{"tea", "regular price 119.9 yuan", "", ""},
	{"tea", "原價129.9元", "original_price", "原價129.9元"},
	{"tea", "It was a sunny day.", "", ""},

	// ---- stock ----
	{"tea", "仅剩3件", "", ""},
	{"tea", "仅剩5件", "stock", "仅剩5件"},
	{"tea", "只剩三件了", "", ""},
	{"tea", "还剩 3 件", "", ""},
	{"tea", "僅剩5件", "stock", "僅剩5件"},
	{"tea", "Only 3 left!", "", ""},
	{"tea", "only 2 left in stock", "stock", "2 left"},
	{"tea", "three left", "", ""},
	{"shirt", "库存500件", "", ""},
	{"shirt", "库存不到100件", "stock", "库存不到100件"},
	{"tea", "最后3件", "", ""},
	{"tea", "最后一件", "stock", "最后一件"},
	{"shirt", "last 5 pieces", "stock", "last 5 pieces"},

	// ---- scarcity ----
	{"tea", "即将售罄", "", ""},
	{"shirt", "即将售罄", "scarcity", "即将售罄"},
	{"shirt", "手慢无", "scarcity", "手慢无"},
	{"vitamin", "库存告急", "", ""},
	{"cream", "almost sold out", "scarcity", "almost sold out"},
	{"shirt", "last chance to buy", "scarcity", "last chance"},
	{"cream", "限量发售", "scarcity", "限量"},
	{"shirt", "最后一批了", "scarcity", "最后一批"},

	// ---- sales ----
	{"tea", "已售1200件", "", ""},
	{"tea", "已售1500件", "sales", "已售1500件"},
	{"tea", "已经卖出了一千二百件", "", ""},
	{"cream", "月销5万+", "", ""},
	{"cream", "已售10万+", "sales", "已售10万+"},
	{"tea", "1,200 sold", "", ""},
	{"tea", "over 1,000 sold", "", ""},
	{"tea", "We sold 5000 boxes.", "sales", "sold 5000"},
	{"cream", "5w+人已购买", "", ""},
	{"tea", "我们卖了三年了", "", ""},

	// ---- facts ----
	{"tea", "产自杭州西湖", "", ""},
	{"tea", "产自云南", "fact", "云南"},
	{"tea", "made in Hangzhou", "", ""},
	{"tea", "made in Japan", "fact", "Japan"},
	{"shirt", "产地：中国", "", ""},
	{"shirt", "Made in China.", "", ""},
	{"tea", "来自大自然的馈赠", "", ""},
	{"tea", "from our family garden", "", ""},
	{"tea", "来自日本的工艺", "fact", "日本"},
	{"shirt", "采用真丝面料", "fact", "真丝"},
	{"shirt", "纯棉面料", "", ""},
	{"shirt", "made of silk", "fact", "silk"},
	{"cream", "含有烟酰胺", "", ""},
	{"cream", "添加了视黄醇", "fact", "视黄醇"},
	{"cream", "无香精", "", ""},
	{"cream", "不含酒精", "", ""},
	{"tea", "通过了有机认证", "", ""},
	{"tea", "获得ISO 9001认证", "fact", "ISO 9001"},
	{"shirt", "通过ISO9001认证", "fact", "ISO9001"},
	{"tea", "全国包邮", "", ""},
	{"tea", "48小时内发货", "", ""},
	{"tea", "24小时发货", "fact", "24小时发货"},
	{"shirt", "顺丰发货", "", ""},
	{"shirt", "运费10元", "", ""},
	{"shirt", "运费5元", "fact", "运费5元"},
	{"shirt", "99元包邮", "fact", "包邮"},
	{"tea", "净含量250g", "", ""},
	{"tea", "一盒250克", "", ""},
	{"tea", "净含量500克", "fact", "500克"},
	{"shirt", "衣长70cm", "", ""},
	{"shirt", "衣长75厘米", "fact", "75厘米"},
	{"usd", "a 5000mAh battery", "", ""},
	{"usd", "a 10000mAh battery", "fact", "10000mAh"},
	{"usd", "20W output", "", ""},
	{"mug", "350ml的容量", "", ""},
	{"mug", "陶瓷材质", "", ""},
	{"tea", "两杯水，3克茶，泡2分钟就好", "", ""},
	{"tea", "这款茶500克", "fact", "500克"},
	{"tea", "第一泡可以快一点出汤", "", ""},
	{"tea", "第一看外形，第二闻香气", "", ""},
	{"tea", "品质第一，服务第二", "absolute", "第一"},
	{"mug", "玻璃材质", "fact", "玻璃"},

	// ---- found by the corpus (testdata/corpus.jsonl) ----
	{"tea", "一百多块就能带走", "", ""},
	{"tea", "只要一百出头", "price", "一百出头"},
	{"mug", "一个不到一百二十元", "", ""},
	{"mug", "一个不到九十元", "price", "九十元"},
	{"shirt", "两件198元", "", ""},
	{"shirt", "两件99元", "price", "99元"},
	{"tea", "买一送一", "price", "买一送一"},
	{"tea", "Best. Tea. Ever.", "absolute", "Best. Tea. Ever."},
	{"tea", "T H E  B E S T tea", "absolute", ""},
	{"vitamin", "糖尿病人请慎食", "", ""},
	{"vitamin", "能治疗糖尿病，孕妇慎用", "medical", "治疗"},
	{"shirt", "新疆棉", "fact", "新疆"},
	{"shirt", "纯棉", "", ""},
	{"mug", "Swiss-made mug", "fact", "Swiss"},

	// ---- no product ----
	{"", "只要99元", "price", "99元"},
	{"", "大家好，欢迎来到直播间", "", ""},
	{"", "仅剩3件", "stock", "仅剩3件"},
	{"", "最好的茶", "absolute", "最好"},
	{"", "喝了能减肥", "efficacy", "减肥"},
}

func TestCheckTable(t *testing.T) {
	c := New(Options{})
	fx := fixtures()
	var catalog []*evercast.Product
	for _, p := range fx {
		catalog = append(catalog, p)
	}
	if len(checkCases) < 150 {
		t.Fatalf("only %d cases", len(checkCases))
	}
	for _, tc := range checkCases {
		name := tc.product + "/" + tc.text
		t.Run(name, func(t *testing.T) {
			lang := evercast.LangZH
			if guessLangTest(tc.text) {
				lang = evercast.LangEN
			}
			in := Input{Lang: lang, Text: tc.text, Product: fx[tc.product], Catalog: catalog, SessionDate: testDate}
			res := c.Check(in)
			v, bad := res.FirstViolation()
			if res.OK == bad {
				t.Fatalf("Result.OK = %v but FirstViolation found = %v", res.OK, bad)
			}
			if tc.cat == "" {
				if bad {
					t.Fatalf("want ok, got %s %q: %s", v.Category, v.Span, v.Reason)
				}
				return
			}
			if !bad {
				t.Fatalf("want %s violation, got ok", tc.cat)
			}
			if v.Category != tc.cat {
				t.Fatalf("category = %s (%q: %s), want %s", v.Category, v.Span, v.Reason, tc.cat)
			}
			if got := tc.text[v.Start:v.End]; got != v.Span {
				t.Fatalf("Span %q but Text[Start:End] = %q", v.Span, got)
			}
			if tc.span != "" && v.Span != tc.span {
				t.Fatalf("span = %q, want %q (%s)", v.Span, tc.span, v.Reason)
			}
			if v.Reason == "" {
				t.Fatal("no reason")
			}
		})
	}
}

func guessLangTest(s string) bool {
	for _, r := range s {
		if r >= 0x4e00 && r <= 0x9fff {
			return false
		}
	}
	return true
}

func TestCheckCatalogSwitch(t *testing.T) {
	c := New(Options{})
	fx := fixtures()
	cat := []*evercast.Product{fx["tea"], fx["shirt"]}
	// The sentence names the shirt: its price is judged against the shirt.
	res := c.Check(Input{Text: "纯棉圆领T恤只要99元", Product: fx["tea"], Catalog: cat})
	if !res.OK {
		t.Fatalf("shirt price judged against the tea: %+v", res)
	}
	res = c.Check(Input{Text: "纯棉圆领T恤只要99.9元", Product: fx["tea"], Catalog: cat})
	if res.OK {
		t.Fatal("wrong shirt price passed")
	}
}

func TestCheckOffsetsInFullText(t *testing.T) {
	c := New(Options{})
	text := "欢迎来到直播间！这款龙井\u200b绝\u200b对正宗。 仅剩5件！Best before June."
	res := c.Check(Input{Text: text, Product: fixtures()["tea"], SessionDate: testDate})
	if res.OK || len(res.Sentences) != 4 {
		t.Fatalf("sentences: %+v", res.Sentences)
	}
	want := []struct {
		ok   bool
		span string
	}{{true, ""}, {false, "绝\u200b对"}, {false, "仅剩5件"}, {true, ""}}
	for i, w := range want {
		v := res.Sentences[i]
		if v.OK != w.ok || v.Span != w.span {
			t.Fatalf("sentence %d = %+v, want %+v", i, v, w)
		}
		if !v.OK && text[v.Start:v.End] != v.Span {
			t.Fatalf("sentence %d: offsets %d..%d do not point at %q", i, v.Start, v.End, v.Span)
		}
		if !strings.Contains(text, v.Sentence) {
			t.Fatalf("sentence %q not in text", v.Sentence)
		}
	}
	if v, _ := res.FirstViolation(); v.Span != "绝\u200b对" {
		t.Fatalf("FirstViolation = %+v", v)
	}
}

func TestOriginalPriceWindow(t *testing.T) {
	c := New(Options{})
	session := time.Date(2025, 3, 10, 9, 0, 0, 0, time.UTC)
	mk := func(h ...evercast.PricePoint) *evercast.Product {
		return &evercast.Product{SKU: "X", Title: evercast.Text{"zh": "杯子"}, Category: "general", Currency: "CNY",
			Price: 20000, PromoPrice: promo(10000), Stock: 5, PriceHistory: h}
	}
	tests := []struct {
		name    string
		history []evercast.PricePoint
		claim   string
		ok      bool
	}{
		{"day 7 counts", []evercast.PricePoint{{Date: "2025-03-03", Price: 20000}}, "原价200元", true},
		{"day 8 does not", []evercast.PricePoint{{Date: "2025-03-02", Price: 20000}}, "原价200元", false},
		{"same day does not", []evercast.PricePoint{{Date: "2025-03-10", Price: 20000}}, "原价200元", false},
		{"day 1 counts", []evercast.PricePoint{{Date: "2025-03-09", Price: 20000}}, "原价200元", true},
		{"lowest in window wins", []evercast.PricePoint{{Date: "2025-03-04", Price: 20000}, {Date: "2025-03-06", Price: 15000}}, "原价200元", false},
		{"claim at the lowest", []evercast.PricePoint{{Date: "2025-03-04", Price: 20000}, {Date: "2025-03-06", Price: 15000}}, "原价150元", true},
		{"cheap day 8 ignored", []evercast.PricePoint{{Date: "2025-03-02", Price: 5000}, {Date: "2025-03-05", Price: 20000}}, "原价200元", true},
		{"cheap same day ignored", []evercast.PricePoint{{Date: "2025-03-10", Price: 5000}, {Date: "2025-03-05", Price: 20000}}, "原价200元", true},
		{"no history", nil, "原价200元", false},
		{"no history, no amount", nil, "比原价便宜一半", false},
		{"english was", []evercast.PricePoint{{Date: "2025-03-05", Price: 20000}}, "It was 200 yuan, now 100 yuan.", true},
		{"english was too high", []evercast.PricePoint{{Date: "2025-03-05", Price: 18000}}, "It was 200 yuan, now 100 yuan.", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := c.Check(Input{Text: tt.claim, Product: mk(tt.history...), SessionDate: session})
			if res.OK != tt.ok {
				v, _ := res.FirstViolation()
				t.Fatalf("OK = %v, want %v (%s %q %s)", res.OK, tt.ok, v.Category, v.Span, v.Reason)
			}
			if !tt.ok {
				if v, _ := res.FirstViolation(); v.Category != CategoryOriginalPrice {
					t.Fatalf("category %s", v.Category)
				}
			}
		})
	}
	// Without a session date nothing can be proven.
	if c.Check(Input{Text: "原价200元", Product: mk(evercast.PricePoint{Date: "2025-03-05", Price: 20000})}).OK {
		t.Fatal("original price proven without a session date")
	}
}

func TestParseNumber(t *testing.T) {
	tests := []struct {
		in   string
		want int64
	}{
		{"129.9", 12990}, {"129.90", 12990}, {"1,299", 129900}, {"0.5", 50},
		{"十九", 1900}, {"一百二十九", 12900}, {"两百", 20000}, {"一千零五", 100500}, {"一百二", 12000},
		{"三万五", 3500000}, {"十万", 10000000}, {"一九九", 19900}, {"一百二十九点九", 12990}, {"九", 900},
		{"three", 300}, {"twenty", 2000}, {"一万二千", 1200000},
		{"ninety-nine", 9900}, {"one hundred and thirty-eight", 13800}, {"one hundred twenty-eight", 12800},
		{"a hundred", 10000}, {"forty-nine point nine", 4990}, {"a dozen", 1200}, {"ten thousand", 1000000},
		{"half a million", 50000000},
	}
	for _, tt := range tests {
		if got, ok := parseNumber(tt.in); !ok || got != tt.want {
			t.Errorf("parseNumber(%q) = %d, %v; want %d", tt.in, got, ok, tt.want)
		}
	}
	for _, bad := range []string{"", "点", "一二十"} {
		if _, ok := parseNumber(bad); ok {
			t.Errorf("parseNumber(%q) accepted", bad)
		}
	}
}

func TestMoneyMentions(t *testing.T) {
	c := New(Options{})
	tests := []struct {
		in       string
		amount   int64
		currency string
	}{
		{"价格129.9", 12990, ""}, {"价格129.90元", 12990, "CNY"}, {"¥129.9", 12990, "CNY"},
		{"129块9", 12990, "CNY"}, {"一百二十九块九", 12990, "CNY"}, {"一百二十九元", 12900, "CNY"},
		{"$129.90", 12990, "USD"}, {"1,299元", 129900, "CNY"}, {"十九块九毛九", 1999, "CNY"},
		{"九毛九", 99, "CNY"}, {"三块五", 350, "CNY"}, {"两百元", 20000, "CNY"}, {"1.2万元", 1200000, "CNY"},
		{"一千零五元", 100500, "CNY"}, {"一百二元", 12000, "CNY"}, {"rmb 88", 8800, "CNY"},
		{"88 yuan", 8800, "CNY"}, {"usd 49.99", 4999, "USD"}, {"49.99 dollars", 4999, "USD"},
		{"129元9角", 12990, "CNY"}, {"99.9块钱", 9990, "CNY"}, {"到手价：99.9", 9990, ""},
		{"ten dollars", 1000, "USD"}, {"the price is 99.9", 9990, ""}, {"价格是 99.9", 9990, ""},
		{"one hundred and thirty-eight yuan", 13800, "CNY"}, {"四十九块九一瓶", 4990, "CNY"}, {"59元一件", 5900, "CNY"},
		{"一百三十八元一盒", 13800, "CNY"}, {"two hundred yuan", 20000, "CNY"},
	}
	for _, tt := range tests {
		ms := c.moneyMentions(Normalize(tt.in).Text)
		if len(ms) != 1 || ms[0].amount != tt.amount || ms[0].currency != tt.currency {
			t.Errorf("moneyMentions(%q) = %+v; want one of %d %s", tt.in, ms, tt.amount, tt.currency)
		}
	}
	for _, none := range []string{"3件", "第一次", "iso9001", "250g", "50%", "1200件", "no.1", "这款茶129.9", "对折成三角形", "three boxes"} {
		if ms := c.moneyMentions(Normalize(none).Text); len(ms) != 0 {
			t.Errorf("moneyMentions(%q) = %+v; want none", none, ms)
		}
	}
}

func TestOptions(t *testing.T) {
	c := New(Options{ExtraAbsolute: []string{"天花板"}, ExtraAllowed: []string{"最佳赏味期"},
		ExtraEfficacy: []string{"护发"}, ExtraScarcity: []string{"快没了"}, LowStockUnits: 2})
	tea := fixtures()["tea"]
	for _, tt := range []struct {
		text, cat string
	}{
		{"龙井天花板", CategoryAbsolute},
		{"最佳赏味期是半年", ""},
		{"能护发", CategoryEfficacy},
		{"快没了", CategoryScarcity},
	} {
		p := tea
		if tt.cat == CategoryScarcity {
			p = fixtures()["shirt"] // 500 in stock: not low
		}
		v, bad := c.Check(Input{Text: tt.text, Product: p, SessionDate: testDate}).FirstViolation()
		if (tt.cat == "") == bad || bad && v.Category != tt.cat {
			t.Errorf("%q: got %v %+v, want %q", tt.text, bad, v, tt.cat)
		}
	}
}

func TestSplitSentences(t *testing.T) {
	tests := []struct {
		in   string
		want []string
	}{
		{"你好！今天卖茶。", []string{"你好！", "今天卖茶。"}},
		{"It is No. 1 here. Price 12.5 yuan.", []string{"It is No. 1 here.", "Price 12.5 yuan."}},
		{"真的吗？！好的", []string{"真的吗？！", "好的"}},
		{"line one\nline two", []string{"line one\n", "line two"}},
		{"  ", nil},
		{"\u200b", nil},
	}
	for _, tt := range tests {
		var got []string
		for _, sp := range splitSentences(tt.in) {
			got = append(got, tt.in[sp[0]:sp[1]])
		}
		if strings.Join(got, "|") != strings.Join(tt.want, "|") {
			t.Errorf("splitSentences(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestOriginNoun(t *testing.T) {
	c := New(Options{})
	cream := fixtures()["cream"]
	for _, s := range []string{"商家资料里没有产地信息", "产地证明齐全吗"} {
		if v, bad := c.Check(Input{Text: s, Product: fixtures()["device"]}).FirstViolation(); bad {
			t.Errorf("%q: %+v", s, v)
		}
	}
	if c.Check(Input{Text: "产地是韩国", Product: cream}).OK {
		t.Error("wrong origin passed")
	}
	if !c.Check(Input{Text: "产地：日本", Product: cream}).OK {
		t.Error("right origin failed")
	}
}
