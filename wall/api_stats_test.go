package wall

import (
	"encoding/json"
	"testing"
)

// TestBudgetLineJSON: a line of /api/stats keeps the budget's field names
// at its top level and says its rate against its cap as utilization, null
// for a line without a cap.
func TestBudgetLineJSON(t *testing.T) {
	tests := []struct {
		name string
		st   BudgetStats
		want any // utilization
	}{
		{"half full", BudgetStats{Site: "west", CapBPS: 2_000_000, BPS: 1_000_000}, 0.5},
		{"over its cap for a second", BudgetStats{Site: "west", CapBPS: 2_000_000, BPS: 2_100_000}, 1.05},
		{"idle", BudgetStats{Site: "west", CapBPS: 2_000_000}, 0.0},
		{"no cap", BudgetStats{Site: "east", BPS: 5_000_000}, nil},
	}
	for _, tt := range tests {
		raw, err := json.Marshal(reportLine(tt.st))
		if err != nil {
			t.Fatal(err)
		}
		var m map[string]any
		if err := json.Unmarshal(raw, &m); err != nil {
			t.Fatal(err)
		}
		u, ok := m["utilization"]
		if !ok || u != tt.want {
			t.Errorf("%s: utilization %v (present %v); want %v", tt.name, u, ok, tt.want)
		}
		if m["site"] != tt.st.Site || m["cap_bps"] != float64(tt.st.CapBPS) || m["bps"] != float64(tt.st.BPS) {
			t.Errorf("%s: %s; want site, cap_bps and bps at the top level", tt.name, raw)
		}
		for _, key := range []string{"bytes_in", "worst_window_bps", "request_slots", "requests_outstanding", "requests_waiting"} {
			if _, ok := m[key]; !ok {
				t.Errorf("%s: %s lacks %q", tt.name, raw, key)
			}
		}
	}
}
