// Package catalog reads and writes a merchant's catalog file, the source of
// truth that every script and answer is judged against:
//
//	{"currency":"CNY","products":[{"sku":"TEA-1","title":{"zh":"龙井","en":"Longjing"},
//	  "category":"tea","price":129.9,"promo_price":99.9,
//	  "price_history":[{"date":"2025-06-11","price":119.9}],"stock":3,"sales_30d":1200,
//	  "origin":{"zh":"浙江杭州","en":"Hangzhou"},"selling_points":[...],"facts":{...}}]}
//
// Parse is strict: unknown fields, missing required fields (currency, sku,
// title, category, price, stock), wrong types and contradictions (a promotion
// price above the price, a duplicate SKU or price-history date, negative
// stock) are refused with an *evercast.ValidationError whose Field is the
// JSON path, such as "products[2].promo_price". Files are limited to MaxBytes
// and MaxProducts.
package catalog

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/evercast/evercast"
)

// Limits of a catalog file.
const (
	MaxBytes    = 10 << 20
	MaxProducts = 10000
)

// Catalog is a parsed catalog file.
type Catalog struct {
	Currency string
	products []*evercast.Product
}

// Products returns copies of the catalog's products in file order. Their ID,
// MerchantID and timestamps are empty: the store assigns them.
func (c *Catalog) Products() []*evercast.Product {
	out := make([]*evercast.Product, len(c.products))
	for i, p := range c.products {
		out[i] = p.Clone()
	}
	return out
}

// Lookup returns a copy of the product with the SKU.
func (c *Catalog) Lookup(sku string) (*evercast.Product, bool) {
	for _, p := range c.products {
		if p.SKU == sku {
			return p.Clone(), true
		}
	}
	return nil, false
}

var topFields = []string{"currency", "products"}

var productFields = []string{"sku", "title", "category", "price", "promo_price", "price_history", "stock",
	"sales_30d", "origin", "selling_points", "facts"}

var requiredProductFields = []string{"sku", "title", "category", "price", "stock"}

func invalid(field, format string, args ...any) error {
	return evercast.Invalid(field, format, args...)
}

// Parse reads and validates a catalog file. Errors are
// *evercast.ValidationError (errors.Is(err, evercast.ErrInvalid)) naming the
// JSON path, or a read error from r.
func Parse(r io.Reader) (*Catalog, error) {
	data, err := io.ReadAll(io.LimitReader(r, MaxBytes+1))
	if err != nil {
		return nil, fmt.Errorf("catalog: read: %w", err)
	}
	if len(data) > MaxBytes {
		return nil, invalid("$", "file is larger than %d bytes", MaxBytes)
	}
	var top map[string]json.RawMessage
	if err := strictDecode(data, &top); err != nil {
		return nil, syntaxError(data, "$", err)
	}
	if top == nil {
		return nil, invalid("$", "must be an object with currency and products")
	}
	if err := knownFields("", top, topFields); err != nil {
		return nil, err
	}
	cat := &Catalog{}
	raw, ok := top["currency"]
	if !ok {
		return nil, invalid("currency", "is required")
	}
	if err := json.Unmarshal(raw, &cat.Currency); err != nil {
		return nil, invalid("currency", "must be a string such as \"CNY\"")
	}
	if len(cat.Currency) != 3 || strings.ToUpper(cat.Currency) != cat.Currency ||
		strings.IndexFunc(cat.Currency, func(r rune) bool { return r < 'A' || r > 'Z' }) >= 0 {
		return nil, invalid("currency", "must be an ISO 4217 code such as CNY")
	}
	raw, ok = top["products"]
	if !ok {
		return nil, invalid("products", "is required")
	}
	var items []json.RawMessage
	if err := json.Unmarshal(raw, &items); err != nil || items == nil {
		return nil, invalid("products", "must be a list of products")
	}
	if len(items) > MaxProducts {
		return nil, invalid("products", "has %d products, more than %d", len(items), MaxProducts)
	}
	seen := map[string]int{}
	for i, item := range items {
		path := fmt.Sprintf("products[%d]", i)
		p, err := parseProduct(path, item, cat.Currency)
		if err != nil {
			return nil, err
		}
		if j, dup := seen[p.SKU]; dup {
			return nil, invalid(path+".sku", "%q repeats products[%d].sku", p.SKU, j)
		}
		seen[p.SKU] = i
		cat.products = append(cat.products, p)
	}
	return cat, nil
}

func strictDecode(data []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if dec.More() {
		return errors.New("unexpected data after the top-level value")
	}
	if _, err := dec.Token(); err != io.EOF {
		return errors.New("unexpected data after the top-level value")
	}
	return nil
}

// syntaxError turns a JSON decoding error into a ValidationError with a
// line and column.
func syntaxError(data []byte, field string, err error) error {
	var se *json.SyntaxError
	if errors.As(err, &se) {
		line, col := position(data, se.Offset)
		return invalid(field, "invalid JSON at line %d column %d: %v", line, col, se)
	}
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		return invalid(field, "must be an object, not a JSON %s", te.Value)
	}
	return invalid(field, "invalid JSON: %v", err)
}

func position(data []byte, off int64) (line, col int) {
	line, col = 1, 1
	for i := int64(0); i < off && i < int64(len(data)); i++ {
		if data[i] == '\n' {
			line, col = line+1, 1
		} else {
			col++
		}
	}
	return line, col
}

func knownFields(prefix string, obj map[string]json.RawMessage, known []string) error {
	var unknown []string
	for k := range obj {
		found := false
		for _, f := range known {
			found = found || f == k
		}
		if !found {
			unknown = append(unknown, k)
		}
	}
	if len(unknown) == 0 {
		return nil
	}
	sort.Strings(unknown)
	return invalid(prefix+unknown[0], "unknown field (known fields: %s)", strings.Join(known, ", "))
}

func parseProduct(path string, item json.RawMessage, currency string) (*evercast.Product, error) {
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(item, &obj); err != nil || obj == nil {
		return nil, invalid(path, "must be an object")
	}
	if err := knownFields(path+".", obj, productFields); err != nil {
		return nil, err
	}
	for _, f := range requiredProductFields {
		if v, ok := obj[f]; !ok || string(bytes.TrimSpace(v)) == "null" {
			return nil, invalid(path+"."+f, "is required")
		}
	}
	p := &evercast.Product{Currency: currency}
	fields := []struct {
		name string
		dst  any
		want string
	}{
		{"sku", &p.SKU, "a string"},
		{"title", &p.Title, `an object of languages such as {"zh":"…","en":"…"} or a string`},
		{"category", &p.Category, "a string"},
		{"price", &p.Price, "an amount such as 129.9"},
		{"promo_price", &p.PromoPrice, "an amount such as 99.9, or null"},
		{"price_history", &p.PriceHistory, `a list of {"date":"YYYY-MM-DD","price":…}`},
		{"stock", &p.Stock, "a whole number"},
		{"sales_30d", &p.Sales30d, "a whole number"},
		{"origin", &p.Origin, "an object of languages or a string"},
		{"selling_points", &p.SellingPoints, "a list of texts"},
		{"facts", &p.Facts, "an object of named facts"},
	}
	for _, f := range fields {
		raw, ok := obj[f.name]
		if !ok {
			continue
		}
		if f.name == "price_history" {
			if err := parseHistory(path+".price_history", raw, &p.PriceHistory); err != nil {
				return nil, err
			}
			continue
		}
		if err := json.Unmarshal(raw, f.dst); err != nil {
			return nil, invalid(path+"."+f.name, "must be %s (%s)", f.want, shortErr(err))
		}
	}
	if p.Category == "" {
		return nil, invalid(path+".category", "is required (one of %s)", strings.Join(evercast.Categories(), ", "))
	}
	// Validate needs a merchant; the file has none, the store sets it.
	p.MerchantID = "catalog"
	err := p.Validate()
	p.MerchantID = ""
	if err != nil {
		var ve *evercast.ValidationError
		if errors.As(err, &ve) {
			return nil, invalid(path+"."+ve.Field, "%s", ve.Message)
		}
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return p, nil
}

func shortErr(err error) string {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		return "got a JSON " + te.Value
	}
	s := err.Error()
	s = strings.TrimPrefix(s, "json: ")
	return s
}

func parseHistory(path string, raw json.RawMessage, dst *[]evercast.PricePoint) error {
	var items []json.RawMessage
	if err := json.Unmarshal(raw, &items); err != nil {
		return invalid(path, `must be a list of {"date":"YYYY-MM-DD","price":…}`)
	}
	seen := map[string]int{}
	for i, it := range items {
		ip := fmt.Sprintf("%s[%d]", path, i)
		var obj map[string]json.RawMessage
		if err := json.Unmarshal(it, &obj); err != nil || obj == nil {
			return invalid(ip, "must be an object")
		}
		if err := knownFields(ip+".", obj, []string{"date", "price"}); err != nil {
			return err
		}
		var pp evercast.PricePoint
		if v, ok := obj["date"]; !ok || json.Unmarshal(v, &pp.Date) != nil {
			return invalid(ip+".date", "is required as a string YYYY-MM-DD")
		}
		v, ok := obj["price"]
		if !ok {
			return invalid(ip+".price", "is required")
		}
		if err := json.Unmarshal(v, &pp.Price); err != nil {
			return invalid(ip+".price", "must be an amount such as 129.9 (%s)", shortErr(err))
		}
		if j, dup := seen[pp.Date]; dup {
			return invalid(ip+".date", "%s repeats %s[%d].date", pp.Date, path, j)
		}
		seen[pp.Date] = i
		*dst = append(*dst, pp)
	}
	return nil
}

// fileProduct is the file form of a product.
type fileProduct struct {
	SKU           string                   `json:"sku"`
	Title         evercast.Text            `json:"title"`
	Category      string                   `json:"category"`
	Price         evercast.Money           `json:"price"`
	PromoPrice    *evercast.Money          `json:"promo_price,omitempty"`
	PriceHistory  []evercast.PricePoint    `json:"price_history,omitempty"`
	Stock         int                      `json:"stock"`
	Sales30d      int                      `json:"sales_30d"`
	Origin        evercast.Text            `json:"origin,omitempty"`
	SellingPoints []evercast.Text          `json:"selling_points,omitempty"`
	Facts         map[string]evercast.Text `json:"facts,omitempty"`
}

// Write writes ps as a catalog file in currency, indented, in the order
// given. What Write writes, Parse reads back to the same products.
func Write(w io.Writer, currency string, ps []*evercast.Product) error {
	f := struct {
		Currency string        `json:"currency"`
		Products []fileProduct `json:"products"`
	}{Currency: currency, Products: []fileProduct{}}
	for _, p := range ps {
		if p == nil {
			continue
		}
		f.Products = append(f.Products, fileProduct{
			SKU: p.SKU, Title: p.Title, Category: p.Category, Price: p.Price, PromoPrice: p.PromoPrice,
			PriceHistory: p.PriceHistory, Stock: p.Stock, Sales30d: p.Sales30d, Origin: p.Origin,
			SellingPoints: p.SellingPoints, Facts: p.Facts,
		})
	}
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(f); err != nil {
		return fmt.Errorf("catalog: write: %w", err)
	}
	return nil
}
