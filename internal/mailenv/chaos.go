package mailenv

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
)

// ChaosTriggers is Mailpit's chaos configuration: which SMTP commands fail,
// how often and with which code. The zero value turns chaos off.
type ChaosTriggers struct {
	// Sender fails MAIL FROM.
	Sender ChaosTrigger `json:"Sender"`
	// Recipient fails RCPT TO, once per recipient.
	Recipient ChaosTrigger `json:"Recipient"`
	// Authentication fails AUTH (only when Mailpit asks for authentication).
	Authentication ChaosTrigger `json:"Authentication"`
}

// ChaosTrigger makes one SMTP command fail.
type ChaosTrigger struct {
	// ErrorCode is the SMTP reply code, 400 to 599. Zero means Mailpit's
	// default: 451 for Sender and Recipient, 535 for Authentication.
	ErrorCode int `json:"ErrorCode"`
	// Probability is the chance in percent, 0 to 100, that the command fails.
	// 0 turns the trigger off; 100 fails every time.
	Probability int `json:"Probability"`
}

// SetChaos replaces Mailpit's chaos triggers (PUT /api/v1/chaos). A trigger
// left zero is turned off, so SetChaos(ctx, ChaosTriggers{}) ends the chaos.
// Mailpit must run with --enable-chaos (.ci/servers.sh starts it so).
func (m *Mailpit) SetChaos(ctx context.Context, t ChaosTriggers) error {
	body, err := json.Marshal(t)
	if err != nil {
		return fmt.Errorf("mailpit: encoding chaos triggers: %w", err)
	}
	resp, err := m.do(ctx, http.MethodPut, "/api/v1/chaos", body)
	if err != nil {
		return chaosHint(err)
	}
	resp.Body.Close()
	return nil
}

// Chaos returns Mailpit's current chaos triggers (GET /api/v1/chaos).
func (m *Mailpit) Chaos(ctx context.Context) (ChaosTriggers, error) {
	var t ChaosTriggers
	if err := m.getJSON(ctx, "/api/v1/chaos", &t); err != nil {
		return ChaosTriggers{}, chaosHint(err)
	}
	return t, nil
}

// chaosHint tells what to do when Mailpit runs without chaos.
func chaosHint(err error) error {
	if strings.Contains(err.Error(), "Chaos is not enabled") {
		return fmt.Errorf("%w: start Mailpit with --enable-chaos", err)
	}
	return err
}
