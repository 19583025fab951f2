package claims_test

import (
	"fmt"
	"time"

	"github.com/evercast/evercast"
	"github.com/evercast/evercast/internal/claims"
)

func ExampleChecker_Check() {
	promo := evercast.Money(9990)
	tea := &evercast.Product{
		SKU: "TEA-1", Title: evercast.Text{"zh": "龙井"}, Category: evercast.CategoryTea, Currency: "CNY",
		Price: 12990, PromoPrice: &promo, Stock: 3, Sales30d: 1200,
		PriceHistory: []evercast.PricePoint{{Date: "2025-06-15", Price: 11990}},
	}
	c := claims.New(claims.Options{})
	res := c.Check(claims.Input{
		Lang:        evercast.LangZH,
		Text:        "今天只要99.9元！仅剩3件。这是全网最\u200b低价。原价129.9元。",
		Product:     tea,
		SessionDate: time.Date(2025, 6, 18, 20, 0, 0, 0, time.UTC),
	})
	for _, v := range res.Sentences {
		fmt.Printf("%v %s %q\n", v.OK, v.Category, v.Span)
	}
	// Output:
	// true  ""
	// true  ""
	// false absolute "全网最\u200b低"
	// false original_price "原价129.9元"
}
