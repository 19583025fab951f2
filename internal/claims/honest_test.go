package claims

import "testing"

// TestHonestScripts are lines an honest script or the offline writer says:
// none may be blocked.
func TestHonestScripts(t *testing.T) {
	c := New(Options{})
	fx := fixtures()
	for _, s := range []struct{ p, text string }{
		{"tea", "欢迎来到直播间！我是AI生成的数字人主播。今天给大家介绍西湖龙井绿茶 250g。它的价格是129.9元，现在促销价99.9元。产地是浙江杭州西湖。库存还有3件。"},
		{"tea", "这款茶采用明前嫩芽，香气清新，口感鲜爽。建议用80度左右的水冲泡，第一泡可以快一点出汤。"},
		{"tea", "喜欢的朋友可以点击下方小黄车，1号链接就是它。有任何问题都可以在评论区问我。"},
		{"tea", "Welcome to the live room! I'm an AI-generated digital human anchor. Today we have West Lake Longjing green tea 250g. It is priced at 129.9 yuan, and the promotion price now is 99.9 yuan."},
		{"tea", "It comes from West Lake, Hangzhou. Brew it with water at about 80 degrees. Thanks for watching, see you next time!"},
		{"shirt", "这件T恤是100%棉的，透气舒服，有S到XL四个尺码。衣长70cm，日常通勤都很百搭。"},
		{"shirt", "This T-shirt is made of 100% cotton and comes in four sizes from S to XL."},
		{"cream", "这款精华霜含有烟酰胺和透明质酸钠，质地清爽，适合日常使用。已备案的美白功效。"},
		{"vitamin", "每天一片，本品不能代替药物。适宜人群：免疫力低下者。"},
		{"tea", "今天的直播就到这里，我们明天晚上8点再见。"},
		{"tea", "有朋友问是不是真人，我是AI数字人主播哦。"},
		{"tea", "先给大家讲讲怎么挑选好茶：第一看外形，第二闻香气，第三品滋味。"},
		{"shirt", "最近天气热了，一件纯棉T恤很实用。"},
		{"tea", "这款茶叶一共有两种规格，今天上架的是250g装。"},
		{"tea", "下单后48小时内发货，全国包邮。"},
		{"usd", "This Bluetooth speaker has a 5000mAh battery and 20W output, priced at 49.99 dollars."},
		{"tea", "两杯水，3克茶，泡2分钟就好。"},
		{"tea", "记得关注直播间，每天晚上7点到10点都在。"},
		{"tea", "2024年的新茶，口感很好。"},
		{"tea", "I'll be here from 7 to 10 pm every night."},
	} {
		for _, v := range c.Check(Input{Text: s.text, Product: fx[s.p], SessionDate: testDate}).Sentences {
			if !v.OK {
				t.Errorf("%s: %q blocked: %s %q %s", s.p, v.Sentence, v.Category, v.Span, v.Reason)
			}
		}
	}
}
