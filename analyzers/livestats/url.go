package livestats

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
)

// Source is a parsed --database-url.
type Source struct {
	// Engine is "postgres" or "mysql" (MariaDB too; the server says which).
	Engine   string
	url      *url.URL
	password string
}

// ParseURL reads postgres://, postgresql://, mysql:// or mariadb:// URLs.
// MySQL URLs take host:port, or ?socket=PATH for a Unix socket. Errors
// never repeat the password.
func ParseURL(raw string) (*Source, error) {
	u, err := url.Parse(raw)
	if err != nil {
		// url's errors quote the input: say what is wrong without it.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return nil, fmt.Errorf("--database-url is not a URL: %v", scrub(err.Error(), raw))
	}
	s := &Source{url: u}
	if u.User != nil {
		s.password, _ = u.User.Password()
	}
	switch u.Scheme {
	case "postgres", "postgresql":
		s.Engine = "postgres"
	case "mysql", "mariadb":
		s.Engine = "mysql"
	default:
		return nil, fmt.Errorf("--database-url %s: want a postgres://, mysql:// or mariadb:// URL", s)
	}
	return s, nil
}

// String is the URL with its password replaced, for messages.
func (s *Source) String() string { return s.url.Redacted() }

// scrub removes secret from text.
func scrub(text, secret string) string {
	if secret == "" {
		return text
	}
	return strings.ReplaceAll(text, secret, "xxxxx")
}

// wrap gives a driver's error the redacted URL as context and makes sure the
// password appears nowhere in it.
func (s *Source) wrap(what string, err error) error {
	if err == nil {
		return nil
	}
	return &Error{msg: scrub(fmt.Sprintf("%s (%s): %v", what, s, err), s.password)}
}

// Error is a failure to read facts; its text never holds a password.
type Error struct{ msg string }

func (e *Error) Error() string { return e.msg }
