package evercast

import (
	"crypto/rand"
	"encoding/base32"
	"strings"
)

var idEncoding = base32.NewEncoding("0123456789abcdefghjkmnpqrstvwxyz").WithPadding(base32.NoPadding)

// NewID returns a random identifier with a type prefix, such as
// "ses_3v8k2m0q9x4r7t1c5b6n". 100 bits of randomness.
func NewID(prefix string) string {
	var b [13]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails on supported platforms
	return prefix + "_" + strings.ToLower(idEncoding.EncodeToString(b[:]))[:20]
}

// ID prefixes.
const (
	PrefixMerchant = "mer"
	PrefixAnchor   = "anc"
	PrefixProduct  = "prd"
	PrefixSession  = "ses"
	PrefixClip     = "clp"
	PrefixComment  = "cmt"
)
