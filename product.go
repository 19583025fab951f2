package evercast

import (
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// Money is an amount in minor units (fen, cents). It reads and writes JSON as
// a decimal number with up to two fraction digits: 129.9 is Money(12990).
type Money int64

// MarshalJSON writes the amount as a JSON number such as 129.90.
func (m Money) MarshalJSON() ([]byte, error) { return []byte(m.String()), nil }

// UnmarshalJSON reads a JSON number (or numeric string) with at most two
// fraction digits. Negative amounts are refused.
func (m *Money) UnmarshalJSON(b []byte) error {
	s := strings.Trim(string(b), `"`)
	v, err := ParseMoney(s)
	if err != nil {
		return err
	}
	*m = v
	return nil
}

// ParseMoney parses "129.9" or "129.90" or "130".
func ParseMoney(s string) (Money, error) {
	s = strings.TrimSpace(s)
	if s == "" || s == "null" {
		return 0, fmt.Errorf("money: empty amount")
	}
	if strings.HasPrefix(s, "-") {
		return 0, fmt.Errorf("money: negative amount %q", s)
	}
	whole, frac, _ := strings.Cut(s, ".")
	if len(frac) > 2 {
		// Allow trailing zeros such as 12.500.
		if strings.Trim(frac[2:], "0") != "" {
			return 0, fmt.Errorf("money: %q has more than two fraction digits", s)
		}
		frac = frac[:2]
	}
	for len(frac) < 2 {
		frac += "0"
	}
	w, err := strconv.ParseInt(whole, 10, 64)
	if err != nil || w > math.MaxInt64/100-1 {
		return 0, fmt.Errorf("money: bad amount %q", s)
	}
	f, err := strconv.ParseInt(frac, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("money: bad amount %q", s)
	}
	return Money(w*100 + f), nil
}

// String renders 12990 as "129.90".
func (m Money) String() string { return fmt.Sprintf("%d.%02d", int64(m)/100, int64(m)%100) }

// Spoken renders the amount the way an anchor says it: "129.9", "130".
func (m Money) Spoken() string {
	s := m.String()
	s = strings.TrimRight(s, "0")
	return strings.TrimSuffix(s, ".")
}

// PricePoint is a price actually charged on a day.
type PricePoint struct {
	Date  string `json:"date"` // YYYY-MM-DD
	Price Money  `json:"price"`
}

// Product categories. The law treats claims differently per category.
const (
	CategoryGeneral       = "general"
	CategoryCosmetics     = "cosmetics"
	CategoryFood          = "food"
	CategoryTea           = "tea"
	CategoryHealthFood    = "health_food"
	CategoryMedicalDevice = "medical_device"
	CategoryApparel       = "apparel"
	CategoryElectronics   = "electronics"
)

// Categories lists every accepted product category.
func Categories() []string {
	return []string{CategoryGeneral, CategoryCosmetics, CategoryFood, CategoryTea,
		CategoryHealthFood, CategoryMedicalDevice, CategoryApparel, CategoryElectronics}
}

// Product is one item of a merchant's catalog: the facts every script and
// answer is judged against.
type Product struct {
	ID         string `json:"id"`
	MerchantID string `json:"merchant_id"`
	SKU        string `json:"sku"`
	Title      Text   `json:"title"`
	Category   string `json:"category"`
	Currency   string `json:"currency"`
	Price      Money  `json:"price"`
	// PromoPrice is the live promotion price; nil when there is no promotion.
	PromoPrice   *Money       `json:"promo_price,omitempty"`
	PriceHistory []PricePoint `json:"price_history,omitempty"`
	Stock        int          `json:"stock"`
	Sales30d     int          `json:"sales_30d"`
	Origin       Text         `json:"origin,omitempty"`
	// SellingPoints are short merchant-written lines, per language.
	SellingPoints []Text `json:"selling_points,omitempty"`
	// Facts are named facts: material, ingredients, size, certification,
	// shipping, filed_claims... Each value is per language.
	Facts     map[string]Text `json:"facts,omitempty"`
	CreatedAt time.Time       `json:"created_at"`
	UpdatedAt time.Time       `json:"updated_at"`
}

// Validate checks the product's fields, naming the first bad one.
func (p *Product) Validate() error {
	p.SKU = strings.TrimSpace(p.SKU)
	switch {
	case p.MerchantID == "":
		return Invalid("merchant_id", "is required")
	case p.SKU == "":
		return Invalid("sku", "is required")
	case len(p.SKU) > 64:
		return Invalid("sku", "is longer than 64 bytes")
	case len(p.Title) == 0 || p.Title.In(LangZH) == "":
		return Invalid("title", "needs at least one language")
	case p.Price <= 0:
		return Invalid("price", "must be greater than 0")
	case p.Stock < 0:
		return Invalid("stock", "must not be negative")
	case p.Sales30d < 0:
		return Invalid("sales_30d", "must not be negative")
	}
	if err := validText("title", p.Title, 200); err != nil {
		return err
	}
	if err := validText("origin", p.Origin, 200); err != nil {
		return err
	}
	if p.Category == "" {
		p.Category = CategoryGeneral
	}
	okCat := false
	for _, c := range Categories() {
		okCat = okCat || c == p.Category
	}
	if !okCat {
		return Invalid("category", "must be one of %s", strings.Join(Categories(), ", "))
	}
	if p.Currency == "" {
		p.Currency = "CNY"
	}
	if len(p.Currency) != 3 || strings.ToUpper(p.Currency) != p.Currency {
		return Invalid("currency", "must be an ISO 4217 code such as CNY")
	}
	if p.PromoPrice != nil {
		if *p.PromoPrice <= 0 {
			return Invalid("promo_price", "must be greater than 0")
		}
		if *p.PromoPrice > p.Price {
			return Invalid("promo_price", "must not exceed price")
		}
	}
	for i, h := range p.PriceHistory {
		if _, err := time.Parse(time.DateOnly, h.Date); err != nil {
			return Invalid(fmt.Sprintf("price_history[%d].date", i), "must be YYYY-MM-DD")
		}
		if h.Price <= 0 {
			return Invalid(fmt.Sprintf("price_history[%d].price", i), "must be greater than 0")
		}
	}
	if len(p.SellingPoints) > 50 {
		return Invalid("selling_points", "has more than 50 entries")
	}
	for i, sp := range p.SellingPoints {
		if err := validText(fmt.Sprintf("selling_points[%d]", i), sp, 500); err != nil {
			return err
		}
	}
	if len(p.Facts) > 50 {
		return Invalid("facts", "has more than 50 entries")
	}
	for k, v := range p.Facts {
		if !validSlug(k) {
			return Invalid("facts", "key %q must be letters, digits, '-' and '_'", k)
		}
		if err := validText("facts."+k, v, 1000); err != nil {
			return err
		}
	}
	return nil
}

func validText(field string, t Text, max int) error {
	for l, s := range t {
		if !l.Valid() {
			return Invalid(field, "language %q must be one of zh, en", string(l))
		}
		if len(s) > max {
			return Invalid(field+"."+string(l), "is longer than %d bytes", max)
		}
	}
	return nil
}

// Offer is the price a viewer pays now: the promotion price when there is one.
func (p *Product) Offer() Money {
	if p.PromoPrice != nil {
		return *p.PromoPrice
	}
	return p.Price
}

// Clone returns a deep copy, so that callers may change it freely.
func (p *Product) Clone() *Product {
	b, _ := json.Marshal(p)
	var c Product
	_ = json.Unmarshal(b, &c)
	return &c
}
