package hook

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"

	"github.com/poolgate/poolgate/gen/api/hooks"
	"github.com/poolgate/poolgate/internal/fault"
)

// Verdict is a shareAuth answer: OK is `success`, Message is `message`, else `msg`.
type Verdict struct {
	OK      bool
	Message string
}

// ShareInit asks {host}/shareAuth/init whether token may open the link. A receiver that answers
// anything but a 200 verdict refuses; one that cannot be reached is a 503 fault.
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
	res, err := cl.ShareAuthInitWithBodyWithResponse(ctx, &hooksapi.ShareAuthInitParams{XPoolgateSignature: s.signature(body)},
		"application/json", bytes.NewReader(body))
	if err != nil {
		return Verdict{}, fault.Wrap(fault.Unavailable, "the share link's credential service is unavailable", err)
	}
	return verdict(res.JSON200), nil
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
	res, err := cl.ShareAuthStartWithBodyWithResponse(ctx, &hooksapi.ShareAuthStartParams{XPoolgateSignature: s.signature(body)},
		"application/json", bytes.NewReader(body))
	if err != nil {
		return Verdict{}, fault.Wrap(fault.Unavailable, "the share link's credential service is unavailable", err)
	}
	return verdict(res.JSON200), nil
}

func verdict(v *hooksapi.ShareAuthVerdict) Verdict {
	if v == nil {
		return Verdict{Message: "the share link's credential check failed"}
	}
	out := Verdict{OK: v.Success}
	switch {
	case v.Message != nil && *v.Message != "":
		out.Message = *v.Message
	case v.Msg != nil:
		out.Message = *v.Msg
	}
	if !out.OK && out.Message == "" {
		out.Message = "the share link refused the request"
	}
	return out
}
