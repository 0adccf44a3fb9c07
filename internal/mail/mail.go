// Package mail sends plain-text mail through an SMTP server configured by a URL:
// smtp://user:pass@host:587 (STARTTLS when the server offers it) or smtps://user:pass@host:465
// (TLS from the start).
package mail

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"mime"
	"mime/quotedprintable"
	"net"
	"net/mail"
	"net/smtp"
	"net/url"
	"strings"
	"time"
)

// SMTP is a mail sender. It is safe for concurrent use: each mail opens its own connection.
type SMTP struct {
	addr     string // host:port
	host     string
	implicit bool // smtps
	user     string
	pass     string
	from     *mail.Address
	helo     string
}

// New makes a sender from SMTP_URL and SMTP_FROM; an empty from is noreply@ the host of
// publicURL.
func New(rawURL, from, publicURL string) (*SMTP, error) {
	u, err := url.Parse(rawURL)
	if err != nil || (u.Scheme != "smtp" && u.Scheme != "smtps") || u.Hostname() == "" {
		return nil, errors.New("SMTP_URL must be smtp://user:pass@host:port or smtps://user:pass@host:port")
	}
	m := &SMTP{host: u.Hostname(), implicit: u.Scheme == "smtps", helo: "localhost"}
	port := u.Port()
	if port == "" {
		port = "587"
		if m.implicit {
			port = "465"
		}
	}
	m.addr = net.JoinHostPort(m.host, port)
	if u.User != nil {
		m.user = u.User.Username()
		m.pass, _ = u.User.Password()
	}
	pu, _ := url.Parse(publicURL)
	if pu != nil && pu.Hostname() != "" {
		m.helo = pu.Hostname()
	}
	if from == "" {
		from = "noreply@" + m.helo
	}
	if m.from, err = mail.ParseAddress(from); err != nil {
		return nil, fmt.Errorf("SMTP_FROM %q is not a mail address: %w", from, err)
	}
	return m, nil
}

// Send delivers one plain-text mail to one address.
func (m *SMTP) Send(ctx context.Context, to, subject, body string) error {
	rcpt, err := mail.ParseAddress(to)
	if err != nil {
		return fmt.Errorf("recipient: %w", err)
	}
	msg, err := m.message(rcpt, subject, body)
	if err != nil {
		return err
	}
	conn, err := (&net.Dialer{Timeout: 10 * time.Second}).DialContext(ctx, "tcp", m.addr)
	if err != nil {
		return fmt.Errorf("connect to mail server: %w", err)
	}
	defer func() { _ = conn.Close() }()
	if d, ok := ctx.Deadline(); ok {
		_ = conn.SetDeadline(d)
	}
	if m.implicit {
		conn = tls.Client(conn, &tls.Config{ServerName: m.host, MinVersion: tls.VersionTLS12})
	}
	c, err := smtp.NewClient(conn, m.host)
	if err != nil {
		return fmt.Errorf("mail server greeting: %w", err)
	}
	defer func() { _ = c.Close() }()
	if err := c.Hello(m.helo); err != nil {
		return fmt.Errorf("mail server hello: %w", err)
	}
	if ok, _ := c.Extension("STARTTLS"); ok && !m.implicit {
		if err := c.StartTLS(&tls.Config{ServerName: m.host, MinVersion: tls.VersionTLS12}); err != nil {
			return fmt.Errorf("mail server STARTTLS: %w", err)
		}
	}
	if m.user != "" {
		// PlainAuth refuses to send the password over an unencrypted connection to another host.
		if err := c.Auth(smtp.PlainAuth("", m.user, m.pass, m.host)); err != nil {
			return fmt.Errorf("mail server authentication: %w", err)
		}
	}
	if err := c.Mail(m.from.Address); err != nil {
		return fmt.Errorf("mail server MAIL FROM: %w", err)
	}
	if err := c.Rcpt(rcpt.Address); err != nil {
		return fmt.Errorf("mail server RCPT TO: %w", err)
	}
	w, err := c.Data()
	if err != nil {
		return fmt.Errorf("mail server DATA: %w", err)
	}
	if _, err := w.Write(msg); err != nil {
		return fmt.Errorf("write mail: %w", err)
	}
	if err := w.Close(); err != nil {
		return fmt.Errorf("mail server refused the mail: %w", err)
	}
	return c.Quit()
}

// message builds the mail: headers (the subject encoded for non-ASCII) and a quoted-printable
// UTF-8 body.
func (m *SMTP) message(to *mail.Address, subject, body string) ([]byte, error) {
	if strings.ContainsAny(subject, "\r\n") {
		return nil, errors.New("subject holds a line break")
	}
	id := make([]byte, 12)
	_, _ = rand.Read(id)
	var b bytes.Buffer
	fmt.Fprintf(&b, "From: %s\r\nTo: %s\r\nSubject: %s\r\nDate: %s\r\nMessage-ID: <%s@%s>\r\n",
		m.from.String(), to.String(), mime.QEncoding.Encode("utf-8", subject), time.Now().UTC().Format(time.RFC1123Z),
		hex.EncodeToString(id), m.helo)
	b.WriteString("MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n")
	qp := quotedprintable.NewWriter(&b)
	if _, err := qp.Write([]byte(body)); err != nil {
		return nil, err
	}
	if err := qp.Close(); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}
