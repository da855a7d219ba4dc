package config

import (
	"fmt"
	"net"
	"strings"
)

// KeyLookup returns the DKIM key look-up: the configured records first
// (name "selector._domainkey.domain" → TXT record), then DNS. With no
// configured records it returns nil, which means DNS.
func KeyLookup(keys map[string]string) (func(domain string) ([]string, error), error) {
	if len(keys) == 0 {
		return nil, nil
	}
	fixed := make(map[string]string, len(keys))
	for name, rec := range keys {
		if !strings.Contains(name, "._domainkey.") {
			return nil, fmt.Errorf("config: trust.dkim_keys: %q is not selector._domainkey.domain", name)
		}
		fixed[strings.ToLower(strings.TrimSuffix(name, "."))] = rec
	}
	return func(domain string) ([]string, error) {
		if rec, ok := fixed[strings.ToLower(strings.TrimSuffix(domain, "."))]; ok {
			return []string{rec}, nil
		}
		return net.LookupTXT(domain)
	}, nil
}
