package main

import (
	"encoding/json"
	"testing"
)

// bench --api answers every request it offers with the family's PDF and
// reports them; the figures are not asserted (a shared machine), only
// that they are there.
func TestBenchAPI(t *testing.T) {
	code, stdout, stderr := attestd(t, "bench", "--api", "--rate", "40", "--duration", "1s", "--warmup", "2", "--json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var rep apiBenchReport
	if err := json.Unmarshal([]byte(stdout), &rep); err != nil {
		t.Fatalf("%v: %q", err, stdout)
	}
	if rep.Offered != 40 || rep.Requests != 40 || rep.OK != 40 || rep.Errors != 0 {
		t.Errorf("report %+v: want 40 requests offered at 40/s, all answered with a PDF", rep)
	}
	if rep.P50 <= 0 || rep.P99 < rep.P50 || rep.Max < rep.P99 || rep.Achieved <= 0 || rep.CPUPerReq <= 0 {
		t.Errorf("report %+v: latencies, rate or CPU missing or out of order", rep)
	}
}
