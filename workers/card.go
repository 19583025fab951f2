package workers

import (
	"hash/fnv"
	"time"

	"github.com/evercast/evercast"
	"github.com/evercast/evercast/internal/media"
	"github.com/evercast/evercast/workers/render"
)

// standbyDuration is the length of the standby clip, looped while the
// buffer is dry.
const standbyDuration = 3200 * time.Millisecond

func formatOf(s *evercast.Session) media.Format { return media.ForOrientation(s.Orientation) }

func seed(id string) int64 {
	h := fnv.New64a()
	h.Write([]byte(id))
	return int64(h.Sum64() >> 1)
}

// card is the product card shown beside the avatar: title and the price a
// viewer pays now. No struck-through "original" price: that is a claim.
func card(p *evercast.Product, lang evercast.Language) *render.Card {
	symbol := map[string]string{"CNY": "¥", "USD": "$", "EUR": "€", "JPY": "¥", "GBP": "£", "HKD": "HK$"}[p.Currency]
	if symbol == "" {
		symbol = p.Currency + " "
	}
	c := &render.Card{Title: p.Title.In(lang), Price: symbol + p.Offer().Spoken()}
	if p.PromoPrice != nil && *p.PromoPrice < p.Price {
		if lang == evercast.LangZH {
			c.Badge = "直播间活动价"
		} else {
			c.Badge = "Live promotion"
		}
	}
	if p.Stock == 0 {
		if lang == evercast.LangZH {
			c.Badge = "暂时缺货"
		} else {
			c.Badge = "Out of stock"
		}
	}
	return c
}
