#!/usr/bin/env bash
# Real mail servers for attestd's end-to-end tests: Dovecot (IMAP) and
# Mailpit (SMTP + HTTP API), rootless on loopback.
#
# Sourced (what .ci/run does):
#
#   . .ci/servers.sh
#   install_servers              # apt-get install dovecot-imapd, go install mailpit, if missing
#   start_servers "$dir"         # start both in $dir, wait until they answer, export ATTESTD_TEST_*
#   trap stop_servers EXIT       # stop what start_servers started
#
# Run as a command (local use):
#
#   .ci/servers.sh install
#   eval "$(.ci/servers.sh start /tmp/attestd-mail)"   # prints the export lines
#   .ci/servers.sh stop /tmp/attestd-mail
#
# Quiet on success; on failure it says what failed and prints the server's log.
#
# Settings (environment, all optional):
#   ATTESTD_TEST_IMAP_PORT      Dovecot IMAP port            (10143)
#   ATTESTD_TEST_SMTP_PORT      Mailpit SMTP port            (10025)
#   ATTESTD_TEST_MAILPIT_PORT   Mailpit HTTP API and UI port (18025)
#   MAILPIT_BIN                 Mailpit binary  ($(go env GOPATH)/bin/mailpit)
#   ATTESTD_MAIL_USER           system user owning the maildirs when run as root (vmail)
#
# Exported by start_servers:
#   ATTESTD_TEST_IMAP_ADDR ATTESTD_TEST_IMAP_USER ATTESTD_TEST_IMAP_PASSWORD
#   ATTESTD_TEST_IMAP_QA_USER ATTESTD_TEST_IMAP_QA_PASSWORD
#   ATTESTD_TEST_SMTP_ADDR ATTESTD_TEST_MAILPIT_API ATTESTD_SERVERS_DIR
#
# The Dovecot behaviour lives in deploy/dovecot/attestd.conf and the users in
# deploy/dovecot/users, the same files docker-compose.yml mounts; this script
# only adds the paths and the user ids (see deploy/README.md).

ATTESTD_MAILPIT_VERSION=v1.33.1
ATTESTD_SERVERS_REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

_servers_err() { echo "servers: $*" >&2; }

_mailpit_bin() {
	if [ -n "${MAILPIT_BIN:-}" ]; then
		echo "$MAILPIT_BIN"
	else
		echo "$(go env GOPATH)/bin/mailpit"
	fi
}

# install_servers installs Dovecot's IMAP server (Debian package) and Mailpit
# (go install, pinned version) when they are missing.
install_servers() {
	local log
	log="$(mktemp)"
	if ! command -v dovecot >/dev/null 2>&1; then
		if ! { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq dovecot-imapd; } >"$log" 2>&1; then
			cat "$log" >&2
			_servers_err "apt-get install dovecot-imapd failed (output above); run as root with Debian's package registry reachable"
			rm -f "$log"
			return 1
		fi
	fi
	local bin
	bin="$(_mailpit_bin)"
	if ! go version -m "$bin" 2>/dev/null | grep -q "mod[[:space:]]*github.com/axllent/mailpit[[:space:]]*$ATTESTD_MAILPIT_VERSION"; then
		if ! (cd / && GOBIN="$(dirname "$bin")" go install "github.com/axllent/mailpit@$ATTESTD_MAILPIT_VERSION") >"$log" 2>&1; then
			cat "$log" >&2
			_servers_err "go install github.com/axllent/mailpit@$ATTESTD_MAILPIT_VERSION failed (output above)"
			rm -f "$log"
			return 1
		fi
	fi
	rm -f "$log"
}

# _servers_mail_user prints the user that owns the maildirs and runs the IMAP
# sessions. Dovecot never gives mail access to uid 0, so as root a system user
# (vmail, created if missing) does; otherwise the current user does.
_servers_mail_user() {
	if [ "$(id -u)" != 0 ]; then
		id -un
		return
	fi
	local u="${ATTESTD_MAIL_USER:-vmail}"
	if ! id "$u" >/dev/null 2>&1; then
		if ! useradd --system --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin "$u" >&2; then
			_servers_err "cannot create the system user $u that Dovecot runs mail sessions as"
			return 1
		fi
	fi
	echo "$u"
}

# _servers_dovecot_conf DIR USER writes DIR/dovecot/dovecot.conf: paths and
# user ids for this run, then the shared deploy/dovecot/attestd.conf.
_servers_dovecot_conf() {
	local dir="$1" user="$2" port="$3"
	local conf="$dir/dovecot"
	cp "$ATTESTD_SERVERS_REPO/deploy/dovecot/attestd.conf" "$conf/attestd.conf"
	cp "$ATTESTD_SERVERS_REPO/deploy/dovecot/users" "$conf/users"
	chmod 644 "$conf/attestd.conf" "$conf/users"
	{
		echo "# Written by .ci/servers.sh for this run; the settings are in attestd.conf."
		echo "base_dir = $conf/run"
		echo "state_dir = $conf/state"
		echo "log_path = $conf/dovecot.log"
		echo "mail_uid = $(id -u "$user")"
		echo "mail_gid = $(id -g "$user")"
		echo "first_valid_uid = $(id -u "$user")"
		echo "first_valid_gid = $(id -g "$user")"
		if [ "$(id -u)" != 0 ]; then
			# Rootless: every Dovecot process runs as the user who started it.
			echo "default_internal_user = $user"
			echo "default_internal_group = $(id -gn "$user")"
			echo "default_login_user = $user"
		fi
		echo "mail_location = maildir:~/Maildir"
		echo "passdb {"
		echo "  driver = passwd-file"
		echo "  args = scheme=PLAIN username_format=%Lu $conf/users"
		echo "}"
		echo "userdb {"
		echo "  driver = static"
		echo "  args = home=$dir/mail/%Ld/%Ln"
		echo "}"
		echo "!include $conf/attestd.conf"
		echo "service imap-login {"
		echo "  inet_listener imap {"
		echo "    port = $port"
		echo "  }"
		echo "}"
	} >"$conf/dovecot.conf"
}

# _servers_wait_imap HOST PORT PIDFILE waits (10 s at most) for an IMAP
# greeting, and gives up at once when the process of PIDFILE is gone.
_servers_wait_imap() {
	local line deadline=$((SECONDS + 10))
	while [ "$SECONDS" -lt "$deadline" ]; do
		_servers_alive "$3" || return 1
		line="$( (exec 3<>"/dev/tcp/$1/$2" && read -r -t 2 l <&3 && echo "$l") 2>/dev/null)"
		case "$line" in "* OK"*) return 0 ;; esac
		sleep 0.1
	done
	return 1
}

# _servers_wait_http URL PIDFILE waits (10 s at most) for a 200 from URL, and
# gives up at once when the process of PIDFILE is gone.
_servers_wait_http() {
	local deadline=$((SECONDS + 10))
	while [ "$SECONDS" -lt "$deadline" ]; do
		_servers_alive "$2" || return 1
		curl -fsS -o /dev/null --max-time 2 "$1" 2>/dev/null && return 0
		sleep 0.1
	done
	return 1
}

_servers_alive() { [ -s "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }

_servers_port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

_servers_export() {
	local dir="$1"
	export ATTESTD_SERVERS_DIR="$dir"
	export ATTESTD_TEST_IMAP_ADDR="127.0.0.1:${ATTESTD_TEST_IMAP_PORT:-10143}"
	export ATTESTD_TEST_IMAP_USER="attestation@cpam.example"
	export ATTESTD_TEST_IMAP_PASSWORD="attestd-test-password"
	export ATTESTD_TEST_IMAP_QA_USER="qa@cpam.example"
	export ATTESTD_TEST_IMAP_QA_PASSWORD="qa-test-password"
	export ATTESTD_TEST_SMTP_ADDR="127.0.0.1:${ATTESTD_TEST_SMTP_PORT:-10025}"
	export ATTESTD_TEST_MAILPIT_API="http://127.0.0.1:${ATTESTD_TEST_MAILPIT_PORT:-18025}"
}

# _servers_check_users DIR checks that the users Dovecot drops to can reach
# their files: a parent directory without o+x breaks logins far from the cause.
_servers_check_users() {
	local dir="$1" user="$2"
	[ "$(id -u)" = 0 ] || return 0
	if ! runuser -u dovecot -- test -r "$dir/dovecot/users"; then
		_servers_err "user dovecot cannot read $dir/dovecot/users: make $dir and its parents world-searchable (chmod o+x) or pick another DIR"
		return 1
	fi
	if ! runuser -u "$user" -- test -w "$dir/mail"; then
		_servers_err "user $user cannot write $dir/mail: make $dir and its parents world-searchable (chmod o+x) or pick another DIR"
		return 1
	fi
}

_servers_start_dovecot() {
	local dir="$1" port="${ATTESTD_TEST_IMAP_PORT:-10143}" user
	if _servers_alive "$dir/dovecot/pid" && _servers_wait_imap 127.0.0.1 "$port" "$dir/dovecot/pid"; then
		return 0
	fi
	if ! _servers_port_free "$port"; then
		_servers_err "port 127.0.0.1:$port is taken by another process; stop it or set ATTESTD_TEST_IMAP_PORT"
		return 1
	fi
	user="$(_servers_mail_user)" || return 1
	mkdir -p "$dir/dovecot" "$dir/mail"
	chmod 755 "$dir" "$dir/dovecot"
	chown "$user" "$dir/mail"
	chmod 700 "$dir/mail"
	_servers_dovecot_conf "$dir" "$user" "$port"
	_servers_check_users "$dir" "$user" || return 1
	if ! doveconf -n -c "$dir/dovecot/dovecot.conf" >"$dir/dovecot/doveconf.log" 2>&1; then
		_servers_err "Dovecot refuses its configuration $dir/dovecot/dovecot.conf:"
		cat "$dir/dovecot/doveconf.log" >&2
		return 1
	fi
	: >"$dir/dovecot/dovecot.log"
	dovecot -F -c "$dir/dovecot/dovecot.conf" >"$dir/dovecot/stdout.log" 2>&1 </dev/null &
	echo $! >"$dir/dovecot/pid"
	if ! _servers_wait_imap 127.0.0.1 "$port" "$dir/dovecot/pid"; then
		_servers_err "Dovecot did not answer on 127.0.0.1:$port (exited, or no greeting within 10 s); its output and log:"
		cat "$dir/dovecot/stdout.log" "$dir/dovecot/dovecot.log" >&2 2>/dev/null
		return 1
	fi
}

_servers_start_mailpit() {
	local dir="$1" bin p
	local smtp="127.0.0.1:${ATTESTD_TEST_SMTP_PORT:-10025}"
	local http="127.0.0.1:${ATTESTD_TEST_MAILPIT_PORT:-18025}"
	if _servers_alive "$dir/mailpit/pid" && _servers_wait_http "http://$http/readyz" "$dir/mailpit/pid"; then
		return 0
	fi
	for p in "${ATTESTD_TEST_SMTP_PORT:-10025}" "${ATTESTD_TEST_MAILPIT_PORT:-18025}"; do
		if ! _servers_port_free "$p"; then
			_servers_err "port 127.0.0.1:$p is taken by another process; stop it or set ATTESTD_TEST_SMTP_PORT / ATTESTD_TEST_MAILPIT_PORT"
			return 1
		fi
	done
	bin="$(_mailpit_bin)"
	if [ ! -x "$bin" ]; then
		_servers_err "Mailpit is not installed at $bin: run install_servers (or set MAILPIT_BIN)"
		return 1
	fi
	mkdir -p "$dir/mailpit"
	# --disable-version-check: the network has no internet; --enable-chaos lets
	# tests make it answer 4xx (PUT /api/v1/chaos); accept-any: attestd may be
	# configured with or without SMTP AUTH.
	"$bin" --disable-version-check \
		--smtp "$smtp" --listen "$http" \
		--database "$dir/mailpit/mailpit.db" \
		--enable-chaos \
		--smtp-auth-accept-any --smtp-auth-allow-insecure \
		>"$dir/mailpit/mailpit.log" 2>&1 </dev/null &
	echo $! >"$dir/mailpit/pid"
	if ! _servers_wait_http "http://$http/readyz" "$dir/mailpit/pid"; then
		_servers_err "Mailpit did not answer on http://$http (exited, or not ready within 10 s); its log:"
		cat "$dir/mailpit/mailpit.log" >&2
		return 1
	fi
}

# start_servers DIR starts Dovecot and Mailpit with their state in DIR (created
# if missing), waits until both answer and exports the ATTESTD_TEST_* variables.
# Servers already running from DIR are reused.
start_servers() {
	local dir="${1:?start_servers needs a directory for the servers state}"
	mkdir -p "$dir" || return 1
	dir="$(cd "$dir" && pwd)"
	_servers_start_dovecot "$dir" || return 1
	if ! _servers_start_mailpit "$dir"; then
		stop_servers "$dir"
		return 1
	fi
	_servers_export "$dir"
}

_servers_stop_pid() {
	local pidfile="$1" pid
	_servers_alive "$pidfile" || { rm -f "$pidfile"; return 0; }
	pid="$(cat "$pidfile")"
	kill "$pid" 2>/dev/null || true
	local deadline=$((SECONDS + 5))
	while kill -0 "$pid" 2>/dev/null && [ "$SECONDS" -lt "$deadline" ]; do
		sleep 0.1
	done
	if kill -0 "$pid" 2>/dev/null; then
		kill -9 "$pid" 2>/dev/null || true
	fi
	wait "$pid" 2>/dev/null || true
	rm -f "$pidfile"
}

# stop_servers [DIR] stops the servers that start_servers started from DIR
# (default: $ATTESTD_SERVERS_DIR). Their files stay in DIR for inspection.
stop_servers() {
	local dir="${1:-${ATTESTD_SERVERS_DIR:-}}"
	[ -n "$dir" ] || return 0
	[ -d "$dir" ] || return 0
	_servers_stop_pid "$dir/mailpit/pid"
	_servers_stop_pid "$dir/dovecot/pid"
}

# Run as a command rather than sourced.
if [ "${BASH_SOURCE[0]}" = "$0" ]; then
	case "${1:-}" in
	install) install_servers ;;
	start)
		start_servers "${2:?usage: servers.sh start DIR}" || exit 1
		for v in ATTESTD_SERVERS_DIR ATTESTD_TEST_IMAP_ADDR ATTESTD_TEST_IMAP_USER ATTESTD_TEST_IMAP_PASSWORD \
			ATTESTD_TEST_IMAP_QA_USER ATTESTD_TEST_IMAP_QA_PASSWORD ATTESTD_TEST_SMTP_ADDR ATTESTD_TEST_MAILPIT_API; do
			printf 'export %s=%q\n' "$v" "${!v}"
		done
		;;
	stop) stop_servers "${2:?usage: servers.sh stop DIR}" ;;
	*)
		echo "usage: $0 install | start DIR | stop DIR" >&2
		exit 2
		;;
	esac
fi
