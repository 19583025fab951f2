package store

import (
	"crypto/sha256"
	"encoding/hex"
	"regexp"
	"strings"
	"testing"

	"github.com/evercast/evercast"
)

func testMerchants(t *testing.T, e *env) {
	a := &evercast.Merchant{Name: "西湖茶庄"}
	must(t, e.s.CreateMerchant(e.ctx, a))
	if !strings.HasPrefix(a.ID, "mer_") || a.CreatedAt.IsZero() {
		t.Fatalf("created merchant %+v: want a mer_ ID and CreatedAt", a)
	}
	b := &evercast.Merchant{ID: "mer_given", Name: "Acme"}
	must(t, e.s.CreateMerchant(e.ctx, b))
	got, err := e.s.GetMerchant(e.ctx, a.ID)
	must(t, err)
	sameJSON(t, "merchant", got, a)
	list, err := e.s.ListMerchants(e.ctx)
	must(t, err)
	sameJSON(t, "merchants", list, []*evercast.Merchant{a, b})

	_, err = e.s.GetMerchant(e.ctx, "mer_missing")
	wantErr(t, err, evercast.ErrNotFound)
	wantErr(t, e.s.CreateMerchant(e.ctx, &evercast.Merchant{ID: "mer_given", Name: "again"}), evercast.ErrConflict)
	wantErr(t, e.s.CreateMerchant(e.ctx, &evercast.Merchant{Name: " "}), evercast.ErrInvalid)
}

func testAPIKeys(t *testing.T, e *env) {
	m1 := &evercast.Merchant{Name: "one"}
	m2 := &evercast.Merchant{Name: "two"}
	must(t, e.s.CreateMerchant(e.ctx, m1))
	must(t, e.s.CreateMerchant(e.ctx, m2))
	k1, err := e.s.CreateAPIKey(e.ctx, m1.ID)
	must(t, err)
	k1b, err := e.s.CreateAPIKey(e.ctx, m1.ID)
	must(t, err)
	k2, err := e.s.CreateAPIKey(e.ctx, m2.ID)
	must(t, err)
	if !regexp.MustCompile(`^evk_[0-9a-z]{20}$`).MatchString(k1) || k1 == k1b {
		t.Fatalf("tokens %q, %q: want distinct evk_ + 20 base32 characters", k1, k1b)
	}
	for _, tc := range []struct {
		token string
		want  *evercast.Merchant
	}{{k1, m1}, {k1b, m1}, {k2, m2}} {
		got, err := e.s.MerchantByAPIKey(e.ctx, tc.token)
		must(t, err)
		sameJSON(t, "merchant by key", got, tc.want)
	}
	for _, bad := range []string{"", "evk_", k1 + "x", "evk_00000000000000000000", strings.TrimPrefix(k1, "evk_")} {
		_, err := e.s.MerchantByAPIKey(e.ctx, bad)
		wantErr(t, err, evercast.ErrNotFound)
	}
	// Only the hash is stored.
	var stored string
	must(t, e.s.queryRow(e.ctx, e.s.db, "SELECT hash FROM api_keys WHERE merchant_id = ? ORDER BY created_at LIMIT 1", m2.ID).Scan(&stored))
	sum := sha256.Sum256([]byte(k2))
	if stored != hex.EncodeToString(sum[:]) {
		t.Fatalf("stored key %q is not the SHA-256 hex of the token", stored)
	}
	_, err = e.s.CreateAPIKey(e.ctx, "mer_missing")
	wantErr(t, err, evercast.ErrNotFound)
}

func testAnchors(t *testing.T, e *env) {
	m := &evercast.Merchant{Name: "m"}
	other := &evercast.Merchant{Name: "other"}
	must(t, e.s.CreateMerchant(e.ctx, m))
	must(t, e.s.CreateMerchant(e.ctx, other))
	a := &evercast.Anchor{MerchantID: m.ID, Name: "小云", Persona: "温柔的茶艺师，说话慢。", Language: evercast.LangZH,
		Voice: evercast.Voice{Provider: "openai", Name: "alloy", Rate: 110}, AvatarPack: "lorelei"}
	must(t, e.s.CreateAnchor(e.ctx, a))
	if !strings.HasPrefix(a.ID, "anc_") || a.CreatedAt.IsZero() || !a.UpdatedAt.Equal(a.CreatedAt) {
		t.Fatalf("created anchor %+v: want anc_ ID and CreatedAt = UpdatedAt", a)
	}
	b := &evercast.Anchor{MerchantID: other.ID, Name: "Ada", Language: evercast.LangEN}
	must(t, e.s.CreateAnchor(e.ctx, b))
	c := &evercast.Anchor{MerchantID: m.ID, Name: "Bo", Language: evercast.LangEN}
	must(t, e.s.CreateAnchor(e.ctx, c))

	got, err := e.s.GetAnchor(e.ctx, a.ID)
	must(t, err)
	sameJSON(t, "anchor", got, a)
	all, err := e.s.ListAnchors(e.ctx, "")
	must(t, err)
	sameJSON(t, "all anchors", all, []*evercast.Anchor{a, b, c})
	mine, err := e.s.ListAnchors(e.ctx, m.ID)
	must(t, err)
	sameJSON(t, "merchant's anchors", mine, []*evercast.Anchor{a, c})

	upd := *a
	upd.MerchantID = other.ID // ignored: anchors do not move
	upd.Name, upd.Persona, upd.Voice = "小云2", "", evercast.Voice{Name: "cmn-latn-pinyin"}
	must(t, e.s.UpdateAnchor(e.ctx, &upd))
	if upd.MerchantID != m.ID || !upd.CreatedAt.Equal(a.CreatedAt) || !upd.UpdatedAt.After(a.UpdatedAt) {
		t.Fatalf("updated anchor %+v: want merchant and CreatedAt kept, UpdatedAt bumped", upd)
	}
	got, err = e.s.GetAnchor(e.ctx, a.ID)
	must(t, err)
	sameJSON(t, "updated anchor", got, &upd)
	if got.Voice.Provider != "espeak" {
		t.Fatalf("update did not validate (voice provider %q)", got.Voice.Provider)
	}

	_, err = e.s.GetAnchor(e.ctx, "anc_missing")
	wantErr(t, err, evercast.ErrNotFound)
	wantErr(t, e.s.UpdateAnchor(e.ctx, &evercast.Anchor{ID: "anc_missing", Name: "x", Language: evercast.LangEN}), evercast.ErrNotFound)
	wantErr(t, e.s.DeleteAnchor(e.ctx, "anc_missing"), evercast.ErrNotFound)
	wantErr(t, e.s.CreateAnchor(e.ctx, &evercast.Anchor{MerchantID: "mer_missing", Name: "x", Language: evercast.LangEN}), evercast.ErrNotFound)
	wantErr(t, e.s.CreateAnchor(e.ctx, &evercast.Anchor{MerchantID: m.ID, Name: "x", Language: "fr"}), evercast.ErrInvalid)
	wantErr(t, e.s.CreateAnchor(e.ctx, &evercast.Anchor{ID: a.ID, MerchantID: m.ID, Name: "x", Language: evercast.LangEN}), evercast.ErrConflict)

	must(t, e.s.DeleteAnchor(e.ctx, b.ID))
	_, err = e.s.GetAnchor(e.ctx, b.ID)
	wantErr(t, err, evercast.ErrNotFound)
}

// fullProduct uses every field of a product, JSON ones included.
func fullProduct(merchantID, sku string) *evercast.Product {
	return &evercast.Product{
		MerchantID: merchantID,
		SKU:        sku,
		Title:      evercast.Text{evercast.LangZH: "明前龙井 250g", evercast.LangEN: "Pre-Qingming Longjing 250 g"},
		Category:   evercast.CategoryTea,
		Currency:   "CNY",
		Price:      12990,
		PromoPrice: ptr(evercast.Money(9900)),
		PriceHistory: []evercast.PricePoint{
			{Date: "2025-02-01", Price: 12990}, {Date: "2025-02-15", Price: 11990},
		},
		Stock:    120,
		Sales30d: 37,
		Origin:   evercast.Text{evercast.LangZH: "杭州西湖"},
		SellingPoints: []evercast.Text{
			{evercast.LangZH: "手工炒制"}, {evercast.LangEN: "hand-roasted", evercast.LangZH: "手炒"},
		},
		Facts: map[string]evercast.Text{
			"harvest":       {evercast.LangZH: "2025 年 3 月"},
			"certification": {evercast.LangZH: "SC 食品生产许可", evercast.LangEN: "SC food licence"},
		},
	}
}

func testProducts(t *testing.T, e *env) {
	m := &evercast.Merchant{Name: "m"}
	other := &evercast.Merchant{Name: "other"}
	must(t, e.s.CreateMerchant(e.ctx, m))
	must(t, e.s.CreateMerchant(e.ctx, other))

	full := fullProduct(m.ID, "LJ-250")
	must(t, e.s.CreateProduct(e.ctx, full))
	if !strings.HasPrefix(full.ID, "prd_") || full.CreatedAt.IsZero() {
		t.Fatalf("created product %+v: want prd_ ID and CreatedAt", full)
	}
	bare := &evercast.Product{MerchantID: m.ID, SKU: " BARE ", Title: evercast.Text{evercast.LangZH: "杯子"}, Price: 1}
	must(t, e.s.CreateProduct(e.ctx, bare))
	if bare.SKU != "BARE" || bare.Category != evercast.CategoryGeneral || bare.Currency != "CNY" {
		t.Fatalf("create did not validate and default: %+v", bare)
	}
	theirs := fullProduct(other.ID, "LJ-250") // same SKU, other merchant: fine
	must(t, e.s.CreateProduct(e.ctx, theirs))

	for _, want := range []*evercast.Product{full, bare, theirs} {
		got, err := e.s.GetProduct(e.ctx, want.ID)
		must(t, err)
		sameJSON(t, "product "+want.SKU, got, want)
	}
	got, err := e.s.GetProduct(e.ctx, bare.ID)
	must(t, err)
	if got.PromoPrice != nil || got.Facts != nil {
		t.Fatalf("bare product came back with promo %v facts %v", got.PromoPrice, got.Facts)
	}
	got, err = e.s.GetProduct(e.ctx, full.ID)
	must(t, err)
	if got.PromoPrice == nil || *got.PromoPrice != 9900 || got.Offer() != 9900 {
		t.Fatalf("promo price came back as %v", got.PromoPrice)
	}

	list, err := e.s.ListProducts(e.ctx, m.ID)
	must(t, err)
	sameJSON(t, "merchant's products", list, []*evercast.Product{full, bare})
	list, err = e.s.ListProducts(e.ctx, "")
	must(t, err)
	sameJSON(t, "all products", list, []*evercast.Product{full, bare, theirs})

	wantErr(t, e.s.CreateProduct(e.ctx, fullProduct(m.ID, "LJ-250")), evercast.ErrConflict)
	wantErr(t, e.s.CreateProduct(e.ctx, fullProduct("mer_missing", "X")), evercast.ErrNotFound)
	wantErr(t, e.s.CreateProduct(e.ctx, &evercast.Product{MerchantID: m.ID, SKU: "Y", Price: 0,
		Title: evercast.Text{evercast.LangZH: "y"}}), evercast.ErrInvalid)

	// Update: drop the promotion, change facts, rename the SKU.
	upd := got.Clone()
	upd.PromoPrice = nil
	upd.Facts = map[string]evercast.Text{"weight": {evercast.LangZH: "250 克"}}
	upd.SKU = "LJ-250-2025"
	must(t, e.s.UpdateProduct(e.ctx, upd))
	if !upd.UpdatedAt.After(full.UpdatedAt) || !upd.CreatedAt.Equal(full.CreatedAt) {
		t.Fatalf("update timestamps %v / %v", upd.CreatedAt, upd.UpdatedAt)
	}
	got, err = e.s.GetProduct(e.ctx, full.ID)
	must(t, err)
	sameJSON(t, "updated product", got, upd)
	// The old SKU is free again; a taken one is a conflict.
	must(t, e.s.CreateProduct(e.ctx, fullProduct(m.ID, "LJ-250")))
	dup := got.Clone()
	dup.SKU = "BARE"
	wantErr(t, e.s.UpdateProduct(e.ctx, dup), evercast.ErrConflict)
	wantErr(t, e.s.UpdateProduct(e.ctx, fullProduct(m.ID, "Z")), evercast.ErrNotFound) // no ID

	_, err = e.s.GetProduct(e.ctx, "prd_missing")
	wantErr(t, err, evercast.ErrNotFound)
	wantErr(t, e.s.DeleteProduct(e.ctx, "prd_missing"), evercast.ErrNotFound)
	must(t, e.s.DeleteProduct(e.ctx, bare.ID))
	_, err = e.s.GetProduct(e.ctx, bare.ID)
	wantErr(t, err, evercast.ErrNotFound)
}

func testGetProducts(t *testing.T, e *env) {
	f := newFixture(t, e)
	p := f.products
	tests := []struct {
		name    string
		ids     []string
		want    []*evercast.Product
		missing string
	}{
		{name: "order kept", ids: []string{p[2].ID, p[0].ID, p[1].ID}, want: []*evercast.Product{p[2], p[0], p[1]}},
		{name: "repeats", ids: []string{p[1].ID, p[1].ID}, want: []*evercast.Product{p[1], p[1]}},
		{name: "empty", ids: nil, want: []*evercast.Product{}},
		{name: "first missing named", ids: []string{p[0].ID, "prd_gone1", p[1].ID, "prd_gone2"}, missing: "prd_gone1"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := e.s.GetProducts(e.ctx, tc.ids)
			if tc.missing != "" {
				wantErr(t, err, evercast.ErrNotFound)
				if !strings.Contains(err.Error(), tc.missing) {
					t.Fatalf("error %q does not name %s", err, tc.missing)
				}
				return
			}
			must(t, err)
			sameJSON(t, "products", got, tc.want)
			if len(got) == 2 && got[0] == got[1] {
				t.Fatal("a repeated id returned the same pointer twice")
			}
		})
	}
}
