package bench

import (
	"bufio"
	"strings"
	"testing"
)

// TestReadLoadResponse checks the load generator's response reader on the framings the
// targets may send: it must consume exactly one response, keep-alive as HTTP/1.1 decides it,
// and fail on anything but a 200.
func TestReadLoadResponse(t *testing.T) {
	const next = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"
	for _, tc := range []struct {
		name, raw string
		keep      bool
		wantErr   string
	}{
		{"content-length", "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\ncontent-length: 5\r\n\r\nhello", true, ""},
		{"bare LF", "HTTP/1.1 200 OK\nContent-Length: 3\n\nabc", true, ""},
		{"chunked with trailer", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\nX-T: 1\r\n\r\n", true, ""},
		{"connection close", "HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 1\r\n\r\na", false, ""},
		{"HTTP/1.0", "HTTP/1.0 200 OK\r\nContent-Length: 1\r\n\r\na", false, ""},
		{"HTTP/1.0 keep-alive", "HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 1\r\n\r\na", true, ""},
		{"long header line", "HTTP/1.1 200 OK\r\nX-Big: " + strings.Repeat("v", 9000) + "\r\nContent-Length: 1\r\n\r\na", true, ""},
		{"not found", "HTTP/1.1 404 Not Found\r\nContent-Length: 9\r\n\r\nno route!", true, "status 404: no route!"},
		{"malformed", "HTTP/1.1 2x0 OK\r\n\r\n", false, "malformed status line"},
		{"short body", "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc", false, "EOF"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			raw := tc.raw
			if tc.wantErr == "" {
				raw += next
			}
			br := bufio.NewReaderSize(strings.NewReader(raw), 4<<10)
			_, keep, err := readLoadResponse(br)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want one containing %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if keep != tc.keep {
				t.Errorf("keep = %v, want %v", keep, tc.keep)
			}
			if status, _, err := readLoadResponse(br); err != nil || status != 200 {
				t.Errorf("the next response: status %d, %v: the first was not consumed exactly", status, err)
			}
		})
	}
}

// TestMedianRoundRatio checks the median of per-round ratios, odd and even counts, and that
// one disturbed round does not move it.
func TestMedianRoundRatio(t *testing.T) {
	for _, tc := range []struct {
		a, b []float64
		want float64
	}{
		{[]float64{10, 30, 20}, []float64{10, 10, 10}, 2},
		{[]float64{10, 20, 30, 40}, []float64{10, 10, 10, 10}, 2.5},
		{[]float64{12, 12, 12, 1000}, []float64{10, 10, 10, 10}, 1.2},
		{nil, nil, 0},
	} {
		if got := medianRoundRatio(&loadStats{perRound: tc.a}, &loadStats{perRound: tc.b}); got != tc.want {
			t.Errorf("median of %v / %v = %v, want %v", tc.a, tc.b, got, tc.want)
		}
	}
}
