package catalog

import (
	"bytes"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/evercast/evercast"
)

const good = `{"currency":"CNY","products":[
 {"sku":"TEA-1","title":{"zh":"西湖龙井","en":"Longjing tea"},"category":"tea","price":129.9,"promo_price":99.9,
  "price_history":[{"date":"2025-06-11","price":119.9},{"date":"2025-06-15","price":"129.90"}],
  "stock":3,"sales_30d":1200,"origin":{"zh":"浙江杭州","en":"Hangzhou"},
  "selling_points":[{"zh":"明前采摘","en":"picked before Qingming"}],
  "facts":{"size":"250g","certifications":["有机认证",{"en":"organic"}]}},
 {"sku":"SHIRT-1","title":"纯棉T恤","category":"apparel","price":99,"stock":0}
]}`

func TestParseGood(t *testing.T) {
	c, err := Parse(strings.NewReader(good))
	if err != nil {
		t.Fatal(err)
	}
	ps := c.Products()
	if c.Currency != "CNY" || len(ps) != 2 {
		t.Fatalf("currency %q, %d products", c.Currency, len(ps))
	}
	tea := ps[0]
	if tea.Price != 12990 || tea.PromoPrice == nil || *tea.PromoPrice != 9990 || tea.Currency != "CNY" {
		t.Fatalf("tea prices: %+v", tea)
	}
	if len(tea.PriceHistory) != 2 || tea.PriceHistory[1].Price != 12990 {
		t.Fatalf("history: %+v", tea.PriceHistory)
	}
	if got := tea.Facts["certifications"]; got["zh"] != "有机认证" || got["en"] != "organic" {
		t.Fatalf("list fact: %v", got)
	}
	if ps[1].Title["zh"] != "纯棉T恤" || ps[1].PromoPrice != nil {
		t.Fatalf("shirt: %+v", ps[1])
	}
	if p, ok := c.Lookup("SHIRT-1"); !ok || p.SKU != "SHIRT-1" {
		t.Fatal("Lookup failed")
	}
	if _, ok := c.Lookup("nope"); ok {
		t.Fatal("Lookup found a missing sku")
	}
	// Products returns copies.
	ps[0].Price = 1
	if c.Products()[0].Price != 12990 {
		t.Fatal("Products shares memory with the catalog")
	}
}

func TestParseErrors(t *testing.T) {
	prod := func(fields string) string {
		return `{"currency":"CNY","products":[{"sku":"A","title":"茶","category":"tea","price":10,"stock":1},{` + fields + `}]}`
	}
	base := `"sku":"B","title":{"zh":"杯子"},"category":"general","price":20,"stock":5`
	tests := []struct {
		name, in, field string
	}{
		{"not json", `{"currency":`, "$"},
		{"trailing data", `{"currency":"CNY","products":[]} {}`, "$"},
		{"array at top", `[]`, "$"},
		{"unknown top field", `{"currency":"CNY","products":[],"shop":"x"}`, "shop"},
		{"missing currency", `{"products":[]}`, "currency"},
		{"bad currency", `{"currency":"rmb","products":[]}`, "currency"},
		{"currency not string", `{"currency":7,"products":[]}`, "currency"},
		{"missing products", `{"currency":"CNY"}`, "products"},
		{"products not list", `{"currency":"CNY","products":{}}`, "products"},
		{"product not object", `{"currency":"CNY","products":[7]}`, "products[0]"},
		{"unknown product field", prod(base + `,"colour":"red"`), "products[1].colour"},
		{"missing sku", prod(`"title":"x","category":"general","price":1,"stock":1`), "products[1].sku"},
		{"missing title", prod(`"sku":"B","category":"general","price":1,"stock":1`), "products[1].title"},
		{"missing category", prod(`"sku":"B","title":"x","price":1,"stock":1`), "products[1].category"},
		{"missing price", prod(`"sku":"B","title":"x","category":"general","stock":1`), "products[1].price"},
		{"missing stock", prod(`"sku":"B","title":"x","category":"general","price":1`), "products[1].stock"},
		{"null price", prod(`"sku":"B","title":"x","category":"general","price":null,"stock":1`), "products[1].price"},
		{"unknown category", prod(`"sku":"B","title":"x","category":"drugs","price":1,"stock":1`), "products[1].category"},
		{"duplicate sku", prod(`"sku":"A","title":"x","category":"general","price":1,"stock":1`), "products[1].sku"},
		{"promo above price", prod(base + `,"promo_price":25`), "products[1].promo_price"},
		{"zero promo", prod(base + `,"promo_price":0`), "products[1].promo_price"},
		{"zero price", prod(`"sku":"B","title":"x","category":"general","price":0,"stock":1`), "products[1].price"},
		{"negative price", prod(`"sku":"B","title":"x","category":"general","price":-5,"stock":1`), "products[1].price"},
		{"three decimals", prod(`"sku":"B","title":"x","category":"general","price":1.234,"stock":1`), "products[1].price"},
		{"price as word", prod(`"sku":"B","title":"x","category":"general","price":"cheap","stock":1`), "products[1].price"},
		{"negative stock", prod(`"sku":"B","title":"x","category":"general","price":1,"stock":-1`), "products[1].stock"},
		{"fractional stock", prod(`"sku":"B","title":"x","category":"general","price":1,"stock":1.5`), "products[1].stock"},
		{"negative sales", prod(base + `,"sales_30d":-3`), "products[1].sales_30d"},
		{"bad date", prod(base + `,"price_history":[{"date":"2025-13-01","price":10}]`), "products[1].price_history[0].date"},
		{"date with time", prod(base + `,"price_history":[{"date":"2025-06-01T10:00:00Z","price":10}]`), "products[1].price_history[0].date"},
		{"missing date", prod(base + `,"price_history":[{"price":10}]`), "products[1].price_history[0].date"},
		{"missing history price", prod(base + `,"price_history":[{"date":"2025-06-01"}]`), "products[1].price_history[0].price"},
		{"zero history price", prod(base + `,"price_history":[{"date":"2025-06-01","price":0}]`), "products[1].price_history[0].price"},
		{"duplicate date", prod(base + `,"price_history":[{"date":"2025-06-01","price":10},{"date":"2025-06-01","price":11}]`), "products[1].price_history[1].date"},
		{"unknown history field", prod(base + `,"price_history":[{"date":"2025-06-01","price":10,"note":"x"}]`), "products[1].price_history[0].note"},
		{"history not list", prod(base + `,"price_history":{}`), "products[1].price_history"},
		{"bad title language", prod(`"sku":"B","title":{"fr":"tasse"},"category":"general","price":1,"stock":1`), "products[1].title"},
		{"title number", prod(`"sku":"B","title":5,"category":"general","price":1,"stock":1`), "products[1].title"},
		{"bad fact key", prod(base + `,"facts":{"made in":"x"}`), "products[1].facts"},
		{"long sku", prod(`"sku":"` + strings.Repeat("x", 65) + `","title":"x","category":"general","price":1,"stock":1`), "products[1].sku"},
		{"blank sku", prod(`"sku":"  ","title":"x","category":"general","price":1,"stock":1`), "products[1].sku"},
		{"origin language", prod(base + `,"origin":{"de":"x"}`), "products[1].origin"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse(strings.NewReader(tt.in))
			var ve *evercast.ValidationError
			if !errors.As(err, &ve) {
				t.Fatalf("err = %v, want a ValidationError", err)
			}
			if !errors.Is(err, evercast.ErrInvalid) {
				t.Fatalf("err %v does not match ErrInvalid", err)
			}
			if ve.Field != tt.field && !strings.HasPrefix(ve.Field, tt.field+".") {
				t.Fatalf("field = %q, want %q (err %v)", ve.Field, tt.field, err)
			}
		})
	}
}

func TestParseMessageNamesPath(t *testing.T) {
	in := `{"currency":"CNY","products":[{"sku":"A","title":"x","category":"general","price":1,"stock":1},
	{"sku":"B","title":"x","category":"general","price":1,"stock":1},
	{"sku":"C","title":"x","category":"general","price":10,"promo_price":12,"stock":1}]}`
	_, err := Parse(strings.NewReader(in))
	if err == nil || err.Error() != "products[2].promo_price: must not exceed price" {
		t.Fatalf("err = %v", err)
	}
}

func TestLimits(t *testing.T) {
	var b strings.Builder
	b.WriteString(`{"currency":"CNY","products":[`)
	for i := range MaxProducts + 1 {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `{"sku":"S%d","title":"x","category":"general","price":1,"stock":1}`, i)
	}
	b.WriteString(`]}`)
	if _, err := Parse(strings.NewReader(b.String())); err == nil || !strings.Contains(err.Error(), "products:") {
		t.Fatalf("too many products: err = %v", err)
	}
	big := `{"currency":"CNY","products":[],"x":"` + strings.Repeat("a", MaxBytes) + `"}`
	if _, err := Parse(strings.NewReader(big)); err == nil || !strings.Contains(err.Error(), "larger than") {
		t.Fatalf("big file: err = %v", err)
	}
}

func TestWriteRoundTrip(t *testing.T) {
	c, err := Parse(strings.NewReader(good))
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := Write(&buf, c.Currency, c.Products()); err != nil {
		t.Fatal(err)
	}
	c2, err := Parse(&buf)
	if err != nil {
		t.Fatalf("reparse: %v\n%s", err, buf.String())
	}
	if !reflect.DeepEqual(c.Products(), c2.Products()) {
		t.Fatalf("round trip differs:\n%+v\n%+v", c.Products(), c2.Products())
	}
	var empty bytes.Buffer
	if err := Write(&empty, "USD", nil); err != nil {
		t.Fatal(err)
	}
	if c3, err := Parse(&empty); err != nil || len(c3.Products()) != 0 || c3.Currency != "USD" {
		t.Fatalf("empty catalog: %v %+v", err, c3)
	}
}

func FuzzParse(f *testing.F) {
	f.Add([]byte(good))
	f.Add([]byte(`{"currency":"CNY","products":[]}`))
	f.Add([]byte(`{"currency":"CNY","products":[{"sku":"A","title":["a",{"zh":"b"}],"category":"general","price":"1.50","stock":0}]}`))
	f.Add([]byte(`{"currency":"CNY","products":[{"sku":"A","title":"x","category":"general","price":1e2,"stock":1}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := Parse(bytes.NewReader(data))
		if err != nil {
			if !errors.Is(err, evercast.ErrInvalid) {
				t.Fatalf("error %v is not ErrInvalid", err)
			}
			return
		}
		var buf bytes.Buffer
		if err := Write(&buf, c.Currency, c.Products()); err != nil {
			t.Fatal(err)
		}
		c2, err := Parse(&buf)
		if err != nil {
			t.Fatalf("Write output does not parse: %v\n%s", err, buf.String())
		}
		if !reflect.DeepEqual(c.Products(), c2.Products()) {
			t.Fatalf("round trip differs")
		}
	})
}
