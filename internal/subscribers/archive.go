package subscribers

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/radiogram/radiogram/internal/tokens"
)

// ArchivePathPrefix is where a signed archive link points: the token
// follows it as the last path segment.
const ArchivePathPrefix = "/news/for/"

// archiveLinkValidity bounds a mail's archive link: long enough to read
// an old digest again, short enough that a forwarded one stops working.
const archiveLinkValidity = 90 * 24 * time.Hour

// ArchiveURL returns the signed link to sub's own filter of the archive
// for the period (since, until]: the items a mail left out. It needs no
// login; the token names the subscriber and the period, never an address.
// It implements digestmail.ArchiveLinker.
func (s *Service) ArchiveURL(ctx context.Context, sub Subscriber, since, until time.Time) string {
	// Microseconds: the period's bounds come back as the digest had them,
	// to well below the store's resolution of first-seen times.
	subject := sub.ID + "|" + strconv.FormatInt(since.UnixMicro(), 10) + "|" + strconv.FormatInt(until.UnixMicro(), 10)
	token := s.Signer.Sign(subject, tokens.Archive, s.now().Add(archiveLinkValidity))
	return s.baseURL(ctx) + ArchivePathPrefix + token
}

// ArchivePeriod verifies a signed archive link and returns its subscriber,
// as stored now (their current topics and societies), and its period. It
// returns ErrInvalidToken or ErrExpiredToken for a token that does not
// verify, and ErrNotFound for a subscriber erased since.
func (s *Service) ArchivePeriod(ctx context.Context, token string) (sub Subscriber, since, until time.Time, err error) {
	subject, err := s.Signer.Verify(token, tokens.Archive, s.now())
	if err != nil {
		s.Log.InfoContext(ctx, "link refused", "purpose", tokens.Archive, "reason", err)
		if errors.Is(err, tokens.ErrExpired) {
			return sub, since, until, ErrExpiredToken
		}
		return sub, since, until, ErrInvalidToken
	}
	id, since, until, ok := parseArchiveSubject(subject)
	if !ok {
		// Signed by us, so a bug rather than a forgery: still only a bad link.
		s.Log.ErrorContext(ctx, "link refused", "purpose", tokens.Archive, "reason", "malformed subject")
		return sub, since, until, ErrInvalidToken
	}
	sub, err = s.Store.Get(ctx, id)
	if err != nil {
		if errors.Is(err, ErrNotFound) {
			return sub, since, until, err
		}
		return sub, since, until, fmt.Errorf("read subscriber of an archive link: %w", err)
	}
	return sub, since, until, nil
}

func parseArchiveSubject(subject string) (id string, since, until time.Time, ok bool) {
	parts := strings.Split(subject, "|")
	if len(parts) != 3 || parts[0] == "" {
		return "", since, until, false
	}
	lo, err1 := strconv.ParseInt(parts[1], 10, 64)
	hi, err2 := strconv.ParseInt(parts[2], 10, 64)
	if err1 != nil || err2 != nil || hi < lo {
		return "", since, until, false
	}
	return parts[0], time.UnixMicro(lo).UTC(), time.UnixMicro(hi).UTC(), true
}
