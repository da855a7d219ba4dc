//go:build !(linux || darwin || freebsd || netbsd || openbsd)

package outbox

func lingerZero(uintptr, bool) bool { return false }
