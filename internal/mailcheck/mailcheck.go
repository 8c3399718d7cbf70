// Package mailcheck checks what tests of the mails hold every HTML mail
// to: the WCAG contrast of its colours and the markup that screen readers
// and dark-mode clients rely on. It is used by tests only.
package mailcheck

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"

	"golang.org/x/net/html"
)

// Contrast is the WCAG 2 contrast ratio of two "#RRGGBB" colours, from 1
// to 21.
func Contrast(a, b string) (float64, error) {
	la, err := luminance(a)
	if err != nil {
		return 0, err
	}
	lb, err := luminance(b)
	if err != nil {
		return 0, err
	}
	if la < lb {
		la, lb = lb, la
	}
	return (la + 0.05) / (lb + 0.05), nil
}

// luminance is the relative luminance of WCAG 2.
func luminance(hex string) (float64, error) {
	if len(hex) != 7 || hex[0] != '#' {
		return 0, fmt.Errorf("colour %q: want #RRGGBB", hex)
	}
	var c [3]float64
	for i := range c {
		v, err := strconv.ParseUint(hex[1+2*i:3+2*i], 16, 8)
		if err != nil {
			return 0, fmt.Errorf("colour %q: %w", hex, err)
		}
		s := float64(v) / 255
		if s <= 0.04045 {
			c[i] = s / 12.92
		} else {
			c[i] = math.Pow((s+0.055)/1.055, 2.4)
		}
	}
	return 0.2126*c[0] + 0.7152*c[1] + 0.0722*c[2], nil
}

// Accessible reports what page lacks: a language, a title, the colour
// scheme meta and dark styles, role="presentation" on every table, alt on
// every image, headings that never skip a level, and no text-shadow.
func Accessible(page string) error {
	doc, err := html.Parse(strings.NewReader(page))
	if err != nil {
		return err
	}
	var errs []error
	var lang, title, scheme bool
	lastHeading := 0
	var walk func(*html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.ElementNode {
			switch n.Data {
			case "html":
				lang = attr(n, "lang") != ""
			case "title":
				title = n.FirstChild != nil && strings.TrimSpace(n.FirstChild.Data) != ""
			case "meta":
				if attr(n, "name") == "color-scheme" && attr(n, "content") == "light dark" {
					scheme = true
				}
			case "table":
				if attr(n, "role") != "presentation" {
					errs = append(errs, errors.New("a table without role=\"presentation\""))
				}
			case "img":
				if _, ok := attrOK(n, "alt"); !ok {
					errs = append(errs, fmt.Errorf("image %q without alt", attr(n, "src")))
				}
			case "h1", "h2", "h3", "h4", "h5", "h6":
				level := int(n.Data[1] - '0')
				if level > lastHeading+1 {
					errs = append(errs, fmt.Errorf("<%s> after <h%d>: a heading level skipped", n.Data, lastHeading))
				}
				lastHeading = level
			}
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(doc)
	if !lang {
		errs = append(errs, errors.New("no <html lang>"))
	}
	if !title {
		errs = append(errs, errors.New("no <title>"))
	}
	if !scheme {
		errs = append(errs, errors.New(`no <meta name="color-scheme" content="light dark">`))
	}
	if !strings.Contains(page, "@media (prefers-color-scheme: dark)") {
		errs = append(errs, errors.New("no dark-mode styles"))
	}
	if strings.Contains(page, "text-shadow") {
		errs = append(errs, errors.New("text-shadow"))
	}
	return errors.Join(errs...)
}

func attr(n *html.Node, key string) string {
	v, _ := attrOK(n, key)
	return v
}

func attrOK(n *html.Node, key string) (string, bool) {
	for _, a := range n.Attr {
		if a.Key == key {
			return a.Val, true
		}
	}
	return "", false
}
