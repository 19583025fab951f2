package app

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/evercast/evercast/internal/demo"
)

// SeedViaAPI creates the demo merchant, anchor, catalog and session through
// a deployment's REST API, starts the session and returns its id.
func SeedViaAPI(ctx context.Context, base, token string) (string, error) {
	if token == "" {
		return "", errors.New("EVERCAST_ADMIN_TOKEN (--admin-token) must be the deployment's operator token")
	}
	base = strings.TrimRight(base, "/")
	c := &http.Client{Timeout: 30 * time.Second}
	call := func(method, path string, body, out any) error {
		var r io.Reader
		if body != nil {
			b, err := json.Marshal(body)
			if err != nil {
				return err
			}
			r = bytes.NewReader(b)
		}
		req, err := http.NewRequestWithContext(ctx, method, base+path, r)
		if err != nil {
			return fmt.Errorf("--api %s: %w", base, err)
		}
		req.Header.Set("Authorization", "Bearer "+token)
		if body != nil {
			req.Header.Set("Content-Type", "application/json")
		}
		resp, err := c.Do(req)
		if err != nil {
			return fmt.Errorf("%s %s: %w", method, path, err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
		if resp.StatusCode/100 != 2 {
			return fmt.Errorf("%s %s: %s: %s", method, path, resp.Status, strings.TrimSpace(string(b)))
		}
		if out != nil {
			return json.Unmarshal(b, out)
		}
		return nil
	}
	var obj struct {
		ID string `json:"id"`
	}
	m := demo.Merchant()
	if err := call(http.MethodPost, "/v1/merchants", map[string]any{"name": m.Name}, &obj); err != nil {
		return "", err
	}
	merchantID := obj.ID
	an := demo.Anchor()
	if err := call(http.MethodPost, "/v1/anchors", map[string]any{
		"merchant_id": merchantID, "name": an.Name, "persona": an.Persona, "language": an.Language,
		"voice": an.Voice, "avatar_pack": an.AvatarPack}, &obj); err != nil {
		return "", err
	}
	anchorID := obj.ID
	ps, err := demo.Products()
	if err != nil {
		return "", err
	}
	var ids []string
	for _, p := range ps {
		body := map[string]any{
			"merchant_id": merchantID, "sku": p.SKU, "title": p.Title, "category": p.Category, "currency": p.Currency,
			"price": p.Price, "price_history": p.PriceHistory, "stock": p.Stock, "sales_30d": p.Sales30d,
			"origin": p.Origin, "selling_points": p.SellingPoints, "facts": p.Facts,
		}
		if p.PromoPrice != nil {
			body["promo_price"] = *p.PromoPrice
		}
		if err := call(http.MethodPost, "/v1/products", body, &obj); err != nil {
			return "", err
		}
		ids = append(ids, obj.ID)
	}
	s := demo.Session(anchorID, ids)
	if err := call(http.MethodPost, "/v1/sessions", map[string]any{
		"merchant_id": merchantID, "anchor_id": anchorID, "title": s.Title, "product_ids": ids,
		"schedule": s.Schedule, "orientation": s.Orientation, "clips_per_product": s.ClipsPerProduct}, &obj); err != nil {
		return "", err
	}
	sessionID := obj.ID
	if err := call(http.MethodPost, "/v1/sessions/"+sessionID+"/start", nil, nil); err != nil {
		return "", err
	}
	return sessionID, nil
}
