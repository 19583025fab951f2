package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/evercast/evercast"
)

// load fetches the object id with get and returns it if the caller may see
// it. Another merchant's object is "not found", exactly like a missing one.
func load[T any](ctx context.Context, c *caller, what, id string,
	get func(context.Context, string) (*T, error), merchantOf func(*T) string) (*T, error) {
	v, err := get(ctx, id)
	if errors.Is(err, evercast.ErrNotFound) || err == nil && (v == nil || !c.owns(merchantOf(v))) {
		return nil, notFound(what)
	}
	if err != nil {
		return nil, fmt.Errorf("get %s: %w", what, err)
	}
	return v, nil
}

// checkImmutable refuses a changed id or merchant_id in a replacement.
func checkImmutable(pathID, bodyID, merchantID, bodyMerchantID string) error {
	if bodyID != "" && bodyID != pathID {
		return evercast.Invalid("id", "cannot change (the path names %s)", pathID)
	}
	if bodyMerchantID != "" && bodyMerchantID != merchantID {
		return evercast.Invalid("merchant_id", "cannot change")
	}
	return nil
}

func anchorMerchant(a *evercast.Anchor) string   { return a.MerchantID }
func productMerchant(p *evercast.Product) string { return p.MerchantID }
func sessionMerchant(s *evercast.Session) string { return s.MerchantID }

// Anchors.

func (s *Server) anchor(r *http.Request, c *caller) (*evercast.Anchor, error) {
	id, err := pathID(r)
	if err != nil {
		return nil, err
	}
	return load(r.Context(), c, "anchor", id, s.store.GetAnchor, anchorMerchant)
}

func (s *Server) createAnchor(w http.ResponseWriter, r *http.Request, c *caller) error {
	var a evercast.Anchor
	if err := s.decodeBody(w, r, &a); err != nil {
		return err
	}
	if err := refuseID(a.ID); err != nil {
		return err
	}
	owner, err := s.ownerFor(r.Context(), c, a.MerchantID)
	if err != nil {
		return err
	}
	a.ID, a.MerchantID = evercast.NewID(evercast.PrefixAnchor), owner
	a.CreatedAt = now()
	a.UpdatedAt = a.CreatedAt
	if err := a.Validate(); err != nil {
		return err
	}
	if err := s.store.CreateAnchor(r.Context(), &a); err != nil {
		return fmt.Errorf("create anchor: %w", err)
	}
	return writeCreated(w, "/v1/anchors/"+a.ID, &a)
}

func (s *Server) listAnchors(w http.ResponseWriter, r *http.Request, c *caller) error {
	scope, err := listScope(r, c)
	if err != nil {
		return err
	}
	as, err := s.store.ListAnchors(r.Context(), scope)
	if err != nil {
		return fmt.Errorf("list anchors: %w", err)
	}
	return writeList(w, as)
}

func (s *Server) getAnchor(w http.ResponseWriter, r *http.Request, c *caller) error {
	a, err := s.anchor(r, c)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, a)
}

func (s *Server) updateAnchor(w http.ResponseWriter, r *http.Request, c *caller) error {
	old, err := s.anchor(r, c)
	if err != nil {
		return err
	}
	var a evercast.Anchor
	if err := s.decodeBody(w, r, &a); err != nil {
		return err
	}
	if err := checkImmutable(old.ID, a.ID, old.MerchantID, a.MerchantID); err != nil {
		return err
	}
	a.ID, a.MerchantID, a.CreatedAt, a.UpdatedAt = old.ID, old.MerchantID, old.CreatedAt, now()
	if err := a.Validate(); err != nil {
		return err
	}
	if err := s.store.UpdateAnchor(r.Context(), &a); err != nil {
		return fmt.Errorf("update anchor: %w", err)
	}
	return writeJSON(w, http.StatusOK, &a)
}

func (s *Server) deleteAnchor(w http.ResponseWriter, r *http.Request, c *caller) error {
	a, err := s.anchor(r, c)
	if err != nil {
		return err
	}
	if err := s.store.DeleteAnchor(r.Context(), a.ID); err != nil {
		return fmt.Errorf("delete anchor: %w", err)
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// Products.

func (s *Server) product(r *http.Request, c *caller) (*evercast.Product, error) {
	id, err := pathID(r)
	if err != nil {
		return nil, err
	}
	return load(r.Context(), c, "product", id, s.store.GetProduct, productMerchant)
}

func (s *Server) createProduct(w http.ResponseWriter, r *http.Request, c *caller) error {
	var p evercast.Product
	if err := s.decodeBody(w, r, &p); err != nil {
		return err
	}
	if err := refuseID(p.ID); err != nil {
		return err
	}
	owner, err := s.ownerFor(r.Context(), c, p.MerchantID)
	if err != nil {
		return err
	}
	p.ID, p.MerchantID = evercast.NewID(evercast.PrefixProduct), owner
	p.CreatedAt = now()
	p.UpdatedAt = p.CreatedAt
	if err := p.Validate(); err != nil {
		return err
	}
	if err := s.store.CreateProduct(r.Context(), &p); err != nil {
		return fmt.Errorf("create product: %w", err)
	}
	return writeCreated(w, "/v1/products/"+p.ID, &p)
}

func (s *Server) listProducts(w http.ResponseWriter, r *http.Request, c *caller) error {
	scope, err := listScope(r, c)
	if err != nil {
		return err
	}
	ps, err := s.store.ListProducts(r.Context(), scope)
	if err != nil {
		return fmt.Errorf("list products: %w", err)
	}
	return writeList(w, ps)
}

func (s *Server) getProduct(w http.ResponseWriter, r *http.Request, c *caller) error {
	p, err := s.product(r, c)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, p)
}

func (s *Server) updateProduct(w http.ResponseWriter, r *http.Request, c *caller) error {
	old, err := s.product(r, c)
	if err != nil {
		return err
	}
	var p evercast.Product
	if err := s.decodeBody(w, r, &p); err != nil {
		return err
	}
	if err := checkImmutable(old.ID, p.ID, old.MerchantID, p.MerchantID); err != nil {
		return err
	}
	p.ID, p.MerchantID, p.CreatedAt, p.UpdatedAt = old.ID, old.MerchantID, old.CreatedAt, now()
	if err := p.Validate(); err != nil {
		return err
	}
	if err := s.store.UpdateProduct(r.Context(), &p); err != nil {
		return fmt.Errorf("update product: %w", err)
	}
	return writeJSON(w, http.StatusOK, &p)
}

func (s *Server) deleteProduct(w http.ResponseWriter, r *http.Request, c *caller) error {
	p, err := s.product(r, c)
	if err != nil {
		return err
	}
	if err := s.store.DeleteProduct(r.Context(), p.ID); err != nil {
		return fmt.Errorf("delete product: %w", err)
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
