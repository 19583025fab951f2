package claims

import (
	"time"

	"github.com/evercast/evercast"
)

func promo(v evercast.Money) *evercast.Money { return &v }

// testDate is the session date of the fixtures: history dates count back from it.
var testDate = time.Date(2025, 6, 18, 20, 0, 0, 0, time.FixedZone("CST", 8*3600))

func fixtures() map[string]*evercast.Product {
	return map[string]*evercast.Product{
		"tea": {
			SKU: "TEA-001", Category: evercast.CategoryTea, Currency: "CNY",
			Title:      evercast.Text{"zh": "西湖龙井绿茶 250g", "en": "West Lake Longjing green tea 250g"},
			Price:      12990,
			PromoPrice: promo(9990),
			PriceHistory: []evercast.PricePoint{
				{Date: "2025-06-10", Price: 8990},  // 8 days before: outside the window
				{Date: "2025-06-11", Price: 11990}, // 7 days before: inside
				{Date: "2025-06-15", Price: 12990},
				{Date: "2025-06-18", Price: 5990}, // the session day: outside
			},
			Stock: 3, Sales30d: 1200,
			Origin: evercast.Text{"zh": "浙江杭州西湖", "en": "West Lake, Hangzhou, Zhejiang"},
			Facts: map[string]evercast.Text{
				"ingredients":    {"zh": "龙井绿茶", "en": "Longjing green tea"},
				"size":           {"zh": "250g", "en": "250 g"},
				"certifications": {"zh": "地理标志产品; 有机认证", "en": "geographical indication; organic certified"},
				"shipping":       {"zh": "全国包邮，48小时内发货", "en": "free shipping, dispatched within 48 hours"},
			},
		},
		"shirt": {
			SKU: "SHIRT-01", Category: evercast.CategoryApparel, Currency: "CNY",
			Title: evercast.Text{"zh": "纯棉圆领T恤", "en": "Cotton crew-neck T-shirt"},
			Price: 9900, Stock: 500, Sales30d: 3000,
			Origin: evercast.Text{"zh": "中国广东东莞", "en": "Dongguan, Guangdong, China"},
			Facts: map[string]evercast.Text{
				"material": {"zh": "100%棉", "en": "100% cotton"},
				"size":     {"zh": "S/M/L/XL，衣长70cm", "en": "S/M/L/XL, length 70 cm"},
				"shipping": {"zh": "顺丰发货，运费10元", "en": "SF Express, shipping fee 10 yuan"},
			},
		},
		"cream": {
			SKU: "CREAM-1", Category: evercast.CategoryCosmetics, Currency: "CNY",
			Title: evercast.Text{"zh": "焕白精华霜 50ml", "en": "Radiance cream 50ml"},
			Price: 29900, PromoPrice: promo(19900), Stock: 2000, Sales30d: 50000,
			PriceHistory: []evercast.PricePoint{{Date: "2025-06-12", Price: 29900}, {Date: "2025-06-16", Price: 25900}},
			Origin:       evercast.Text{"zh": "日本", "en": "Japan"},
			Facts: map[string]evercast.Text{
				"ingredients":    {"zh": "烟酰胺、透明质酸钠、无香精", "en": "niacinamide, sodium hyaluronate; fragrance-free"},
				"filed_claims":   {"zh": "美白", "en": "whitening"},
				"unfiled_claims": {"zh": "祛痘; 抗敏", "en": "acne; anti-allergy"},
				"size":           {"en": "50ml"},
			},
		},
		"vitamin": {
			SKU: "HF-9", Category: evercast.CategoryHealthFood, Currency: "CNY",
			Title: evercast.Text{"zh": "维生素C咀嚼片", "en": "Vitamin C chewable tablets"},
			Price: 8800, Stock: 8, Sales30d: 100,
			Origin: evercast.Text{"zh": "美国", "en": "USA"},
			Facts: map[string]evercast.Text{
				"ingredients":  {"zh": "维生素C、山梨糖醇", "en": "vitamin C, sorbitol"},
				"filed_claims": {"zh": "增强免疫力", "en": "boosts immunity"},
			},
		},
		"device": {
			SKU: "MD-3", Category: evercast.CategoryMedicalDevice, Currency: "CNY",
			Title: evercast.Text{"zh": "电子血压计", "en": "Blood pressure monitor"},
			Price: 19900, Stock: 40, Sales30d: 4000,
			Facts: map[string]evercast.Text{"filed_claims": {"zh": "测量血压", "en": "measures blood pressure"}},
		},
		"mug": {
			SKU: "MUG-1", Category: evercast.CategoryGeneral, Currency: "CNY",
			Title: evercast.Text{"zh": "陶瓷马克杯", "en": "Ceramic mug"},
			Price: 10000, Stock: 50, Sales30d: 10,
			Facts: map[string]evercast.Text{"material": {"zh": "陶瓷", "en": "ceramic"}, "size": {"zh": "350ml"}},
		},
		"usd": {
			SKU: "US-1", Category: evercast.CategoryElectronics, Currency: "USD",
			Title: evercast.Text{"en": "Bluetooth speaker", "zh": "蓝牙音箱"},
			Price: 4999, Stock: 1000, Sales30d: 20,
			Facts: map[string]evercast.Text{"battery": {"en": "5000mAh"}, "power": {"en": "20W"}},
		},
	}
}
