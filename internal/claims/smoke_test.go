package claims

import (
	"fmt"
	"testing"
)

func TestSmoke(t *testing.T) {
	c := New(Options{})
	fx := fixtures()
	for _, s := range []struct{ p, text string }{
		{"tea", "这款龙井是全网最低价！最近很多人问。第1次来直播间的朋友看过来。原价119.9，现在只要99.9元。仅剩3件！已售1200件。产自杭州西湖。喝了能减肥哦。"},
		{"tea", "zui4低价，绝\u200b对划算，罪低价，dì yī名，NO.1，No 1 best"},
		{"tea", "价格一百二十九块九。到手价99块9。原价129.9。"},
		{"shirt", "100%纯棉面料，made in China. 运费10元。衣长70cm。采用真丝。"},
		{"cream", "美白效果好。祛痘神器。这款能抗衰老。"},
	} {
		r := c.Check(Input{Text: s.text, Product: fx[s.p], SessionDate: testDate})
		for _, v := range r.Sentences {
			fmt.Printf("%-40q ok=%v %s %q %s\n", v.Sentence, v.OK, v.Category, v.Span, v.Reason)
		}
	}
	n := Normalize("ｚｕｉ４低价 絕 對 b e s t dì yī 第①")
	fmt.Printf("%q\n", n.Text)
}
