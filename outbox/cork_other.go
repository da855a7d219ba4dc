//go:build !linux

package outbox

// cork is Linux's TCP_CORK; elsewhere nothing is held.
func cork(uintptr, bool) bool { return false }
