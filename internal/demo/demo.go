// Package demo is the built-in demo merchant: an anchor, a small catalog of
// real-looking products and a session, used by `evercast demo` (in process)
// and `evercast demo --seed` (through the REST API of a deployment).
package demo

import (
	_ "embed"
	"encoding/json"
	"fmt"

	"github.com/evercast/evercast"
)

//go:embed catalog.json
var catalogJSON []byte

// CatalogJSON is the demo catalog in the merchant catalog file format.
func CatalogJSON() []byte { return append([]byte(nil), catalogJSON...) }

// Merchant is the demo merchant.
func Merchant() *evercast.Merchant {
	return &evercast.Merchant{Name: "Evercast 演示商家 / Demo Merchant"}
}

// Anchor is the demo anchor.
func Anchor() *evercast.Anchor {
	return &evercast.Anchor{
		Name:       "小言",
		Persona:    "亲切、专业、语速适中的带货主播，熟悉茶叶、丝巾和食品，只讲商家资料里的事实。",
		Language:   evercast.LangZH,
		Voice:      evercast.Voice{Provider: "espeak", Name: "cmn-latn-pinyin", Rate: 230},
		AvatarPack: evercast.DefaultAvatarPack,
	}
}

// Products returns the demo catalog.
func Products() ([]*evercast.Product, error) {
	var c struct {
		Currency string              `json:"currency"`
		Products []*evercast.Product `json:"products"`
	}
	if err := json.Unmarshal(catalogJSON, &c); err != nil {
		return nil, fmt.Errorf("demo catalog: %w", err)
	}
	for _, p := range c.Products {
		p.Currency = c.Currency
	}
	return c.Products, nil
}

// Session is the demo session over the given products.
func Session(anchorID string, productIDs []string) *evercast.Session {
	return &evercast.Session{
		AnchorID:        anchorID,
		Title:           "Evercast 好物直播间",
		ProductIDs:      productIDs,
		Schedule:        evercast.Schedule{Mode: "always"},
		Orientation:     evercast.Landscape,
		ClipsPerProduct: 3,
	}
}
