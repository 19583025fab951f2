package api

import (
	_ "embed"
	"io"
	"net/http"
)

// openAPI is the hand-written OpenAPI 3.0 document of the API. A test keeps
// its paths and methods equal to the route table.
//
//go:embed openapi.json
var openAPI string

func serveOpenAPI(w http.ResponseWriter, _ *http.Request, _ *caller) error {
	h := w.Header()
	h.Set("Content-Type", "application/json; charset=utf-8")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Cache-Control", "no-cache")
	_, _ = io.WriteString(w, openAPI)
	return nil
}
