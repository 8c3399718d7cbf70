package subscribers

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestArchiveLink(t *testing.T) {
	f := newFixture(t)
	sub, _ := f.confirmed(t, "jane@example.org")
	since := time.Date(2026, 11, 29, 7, 0, 0, 123456000, time.UTC)
	until := since.Add(24 * time.Hour)
	link := f.svc.ArchiveURL(ctx, sub, since, until)
	token, ok := strings.CutPrefix(link, f.svc.BaseURL+ArchivePathPrefix)
	if !ok {
		t.Fatalf("link %q is not under %s", link, ArchivePathPrefix)
	}
	if strings.Contains(link, "jane") {
		t.Errorf("link %q names the address", link)
	}
	got, gotSince, gotUntil, err := f.svc.ArchivePeriod(ctx, token)
	if err != nil || got.ID != sub.ID || !gotSince.Equal(since) || !gotUntil.Equal(until) {
		t.Fatalf("ArchivePeriod = %s, %v, %v, %v; want %s, %v, %v", got.ID, gotSince, gotUntil, err, sub.ID, since, until)
	}

	for name, tok := range map[string]string{
		"tampered":      token[:len(token)-2] + "xx",
		"empty":         "",
		"other purpose": tokenOf(t, f.svc.Links(ctx, sub).Preferences),
	} {
		if _, _, _, err := f.svc.ArchivePeriod(ctx, tok); !errors.Is(err, ErrInvalidToken) {
			t.Errorf("%s: err = %v, want ErrInvalidToken", name, err)
		}
	}

	later := *f.svc
	later.Now = func() time.Time { return f.svc.Now().Add(archiveLinkValidity + time.Minute) }
	if _, _, _, err := later.ArchivePeriod(ctx, token); !errors.Is(err, ErrExpiredToken) {
		t.Errorf("after 90 days: err = %v, want ErrExpiredToken", err)
	}

	if err := f.svc.Erase(ctx, tokenOf(t, f.svc.manageLinks(ctx, sub).Erase)); err != nil {
		t.Fatal(err)
	}
	if _, _, _, err := f.svc.ArchivePeriod(ctx, token); !errors.Is(err, ErrNotFound) {
		t.Errorf("erased: err = %v, want ErrNotFound", err)
	}
}
