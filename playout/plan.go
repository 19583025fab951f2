package playout

import "encoding/json"

// standbyID reads the standby clip id from the planner's saved state.
func standbyID(raw []byte) string {
	var p struct {
		StandbyClipID string `json:"standby_clip_id"`
	}
	if json.Unmarshal(raw, &p) != nil {
		return ""
	}
	return p.StandbyClipID
}
