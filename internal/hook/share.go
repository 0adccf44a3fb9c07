package hook

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math/big"
	"net/http"

	"github.com/poolgate/poolgate/gen/api/hooks"
	"github.com/poolgate/poolgate/internal/fault"
)

// Verdict is a shareAuth answer: OK is `success`, Message is `message`, else `msg`.
type Verdict struct {
	OK      bool
	Message string
}

// ShareInit asks {host}/shareAuth/init whether token may open the link. A receiver that answers
// anything but a 2xx verdict refuses; one that cannot be reached is a 503 fault.
func (s *Service) ShareInit(ctx context.Context, host, token string) (Verdict, error) {
	body, err := json.Marshal(hooksapi.ShareAuthInitRequest{Token: token})
	if err != nil {
		return Verdict{}, fmt.Errorf("encode shareAuth/init: %w", err)
	}
	cl, err := s.client(host, false)
	if err != nil {
		return Verdict{}, err
	}
	ctx, cancel := context.WithTimeout(ctx, s.cfg.Timeout)
	defer cancel()
	res, err := cl.ShareAuthInitWithBody(ctx, &hooksapi.ShareAuthInitParams{}, "application/json", bytes.NewReader(body), s.sign(body))
	if err != nil {
		return Verdict{}, fault.Wrap(fault.Unavailable, "the share link's credential service is unavailable", err)
	}
	return verdict(res), nil
}

// ShareStart asks {host}/shareAuth/start whether token may ask question.
func (s *Service) ShareStart(ctx context.Context, host, token, question string) (Verdict, error) {
	body, err := json.Marshal(hooksapi.ShareAuthStartRequest{Token: token, Question: question})
	if err != nil {
		return Verdict{}, fmt.Errorf("encode shareAuth/start: %w", err)
	}
	cl, err := s.client(host, false)
	if err != nil {
		return Verdict{}, err
	}
	ctx, cancel := context.WithTimeout(ctx, s.cfg.Timeout)
	defer cancel()
	res, err := cl.ShareAuthStartWithBody(ctx, &hooksapi.ShareAuthStartParams{}, "application/json", bytes.NewReader(body), s.sign(body))
	if err != nil {
		return Verdict{}, fault.Wrap(fault.Unavailable, "the share link's credential service is unavailable", err)
	}
	return verdict(res), nil
}

// verdict reads a shareAuth answer, as JSON whatever its Content-Type: `success` (true, "true"
// or 1) admits; a refusal carries the receiver's `message`, else its `msg`.
func verdict(res *http.Response) Verdict {
	answer := readAnswer(res)
	var v verdictAnswer
	decoded := decodeLenient(answer, &v)
	ok := res.StatusCode >= 200 && res.StatusCode < 300
	out := Verdict{OK: ok && decoded && bool(v.Success), Message: string(v.Message)}
	if out.Message == "" {
		out.Message = string(v.Msg)
	}
	if !out.OK && out.Message == "" {
		out.Message = "the share link refused the request"
		if !decoded {
			out.Message = "the share link's credential check failed"
		}
	}
	return out
}

// DefaultQuotaPerUnit is the quota units one unit of the site's currency buys when no
// quota_per_unit setting says otherwise.
const DefaultQuotaPerUnit = 500000

// fastGPTScale is FastGPT's price unit: its prices are the currency amount × 100000.
const fastGPTScale = 100000

// SharePrice is a charge in quota units on FastGPT's scale: the amount in the site's currency ×
// 100000, rounded half up, computed exactly (quotaPerUnit quota units make one currency unit;
// zero or less means DefaultQuotaPerUnit).
func SharePrice(quota, quotaPerUnit int64) int64 {
	if quotaPerUnit <= 0 {
		quotaPerUnit = DefaultQuotaPerUnit
	}
	if quota <= 0 {
		return 0
	}
	n := new(big.Int).Mul(big.NewInt(quota), big.NewInt(fastGPTScale))
	n.Mul(n, big.NewInt(2))
	n.Add(n, big.NewInt(quotaPerUnit))
	n.Quo(n, new(big.Int).Mul(big.NewInt(quotaPerUnit), big.NewInt(2)))
	if !n.IsInt64() {
		return 1<<63 - 1
	}
	return n.Int64()
}

// completeMessages is FastGPT's view of the conversation an answer was given in: system messages
// as System, the user's as Human, the assistant's and the answer as AI (tool messages are left
// out), text joined per message, bounded like the audit's messages (newest first).
func completeMessages(body []byte, answer string) ([]hooksapi.ShareAuthMessage, bool) {
	type item struct {
		obj   hooksapi.ShareAuthMessageObj
		parts []string
	}
	var items []item
	for _, m := range conversation(body) {
		switch m.role {
		case hooksapi.ChatMessageAuthorRoleSystem:
			items = append(items, item{hooksapi.ShareAuthMessageObjSystem, m.parts})
		case hooksapi.ChatMessageAuthorRoleUser:
			items = append(items, item{hooksapi.ShareAuthMessageObjHuman, m.parts})
		case hooksapi.ChatMessageAuthorRoleAssistant:
			items = append(items, item{hooksapi.ShareAuthMessageObjAI, m.parts})
		}
	}
	items = append(items, item{hooksapi.ShareAuthMessageObjAI, []string{answer}})
	budget := textBudget{left: maxEventText}
	kept := make([][]string, len(items))
	for i := len(items) - 1; i >= 0; i-- {
		kept[i] = budget.take(items[i].parts)
	}
	out := make([]hooksapi.ShareAuthMessage, 0, len(items))
	for i, it := range items {
		if kept[i] == nil {
			continue
		}
		var v bytes.Buffer
		for j, p := range kept[i] {
			if j > 0 {
				v.WriteByte('\n')
			}
			v.WriteString(p)
		}
		out = append(out, hooksapi.ShareAuthMessage{Obj: it.obj, Value: v.String()})
	}
	return out, budget.cut
}
