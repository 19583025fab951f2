package api

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/evercast/evercast"
	"github.com/evercast/evercast/internal/api/apitest"
)

// FuzzCreateProduct throws arbitrary bodies at POST /v1/products: the
// answer is never a 5xx, always JSON, a 400 always names a field, and what
// is accepted is a valid product.
func FuzzCreateProduct(f *testing.F) {
	seed, _ := json.Marshal(productBody("SEED-1"))
	for _, s := range []string{
		string(seed),
		`{"sku":"A","title":"茶","price":"1.50","stock":1}`,
		`{"sku":"A","title":["茶",{"en":"tea"}],"price":1,"facts":{"x":"y"}}`,
		`{"sku":"A","title":{"zh":"茶"},"price":1e400}`,
		`{"sku":"A","title":{"zh":"茶"},"price":1,"price_history":[{"date":"2025-01-01","price":"x"}]}`,
		`{"sku":"A","title":{"zh":"茶"},"price":1,"promo_price":null}`,
		`{"title":{"zh":"茶"},"price":99999999999999999999}`,
		`{"sku":"A","Title":{"zh":"茶"},"PRICE":1}`,
		`{"a":{"b":{"c":[[[[[]]]]]}}}`,
		`{"selling_points":[1,2,3]}`,
		`{"facts":{"a":{"zh":5}}}`,
		`[1,2]`, `null`, `"x"`, ``, `{`, `{"sku":"\ud800"}`, "{\"sku\":\"\x00\"}",
	} {
		f.Add([]byte(s))
	}
	st := apitest.NewStore()
	m := &evercast.Merchant{Name: "fuzz"}
	if err := st.CreateMerchant(context.Background(), m); err != nil {
		f.Fatal(err)
	}
	key, err := st.CreateAPIKey(context.Background(), m.ID)
	if err != nil {
		f.Fatal(err)
	}
	h := New(Config{Store: st, AdminToken: adminToken, MaxBody: 64 << 10}).Handler()

	f.Fuzz(func(t *testing.T, body []byte) {
		r := httptest.NewRequest("POST", "/v1/products", bytes.NewReader(body))
		r.Header.Set("Content-Type", "application/json")
		r.Header.Set("Authorization", "Bearer "+key)
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		if w.Code >= 500 {
			t.Fatalf("status %d for %q: %s", w.Code, body, w.Body)
		}
		switch w.Code {
		case http.StatusCreated:
			var p evercast.Product
			if err := json.Unmarshal(w.Body.Bytes(), &p); err != nil {
				t.Fatalf("201 body: %v: %s", err, w.Body)
			}
			if err := p.Validate(); err != nil {
				t.Fatalf("accepted an invalid product: %v", err)
			}
			if p.MerchantID != m.ID {
				t.Fatalf("product filed under %q", p.MerchantID)
			}
		case http.StatusBadRequest:
			var eb errorBody
			if err := json.Unmarshal(w.Body.Bytes(), &eb); err != nil || eb.Error.Code != codeInvalid || eb.Error.Field == "" {
				t.Fatalf("400 without a named field (%v): %s", err, w.Body)
			}
		case http.StatusConflict, http.StatusRequestEntityTooLarge:
		default:
			t.Fatalf("unexpected status %d: %s", w.Code, w.Body)
		}
	})
}
