#!/usr/bin/env bash
# attestd against the floor, the least possible responder (issue 14,
# docs/performance.md): starts Dovecot and Mailpit (.ci/servers.sh), builds
# attestd and floorcmp, runs the floor and then `attestd run` on the same
# servers with the same requests, and prints both with their ratios.
#
#   .ci/perf.sh                       # burst 1000, 500 at 50/s, 30 at 2/s
#   .ci/perf.sh --burst 50 --steady 50 --idle 5 --idle-after 6s --idle-window 3s   # short
#   PERF_DIR=/tmp/perf .ci/perf.sh --json
#
# Extra arguments go to `floorcmp compare` (see its flags: floorcmp compare -h).
# The servers run from $PERF_DIR (default: a new temporary directory) on the
# ports of .ci/servers.sh (ATTESTD_TEST_IMAP_PORT, ATTESTD_TEST_SMTP_PORT,
# ATTESTD_TEST_MAILPIT_PORT); they are stopped at the end. attestd's daily
# limits are raised: a responder that applies them answers fewer requests
# than it receives. Its other settings are its defaults; PERF_IDLE_WAKEUP
# sets imap.idle_wakeup (e.g. 50ms), PERF_BUSY_POLL imap.busy_poll,
# PERF_WORKERS workers; PERF_ATTESTD names
# another attestd binary to measure (an older build, say); PERF_RUN_FLAGS
# adds flags to `attestd run` (profiles: --cpuprofile, --blockprofile,
# --mutexprofile, --waitprofile). Both responders' logs go to $dir/*.log.
set -euo pipefail
cd "$(dirname "$0")/.."
. .ci/servers.sh
install_servers
dir="${PERF_DIR:-$(mktemp -d)}"
mkdir -p "$dir"
dir="$(cd "$dir" && pwd)"
chmod o+x "$dir"
# Mailpit prunes to 500 messages every minute by default: a burst of 1,000
# replies would lose some before the probe reads them.
export MP_MAX_MESSAGES=0
start_servers "$dir"
trap 'stop_servers "$dir"' EXIT

if [ -n "${PERF_ATTESTD:-}" ]; then cp "$PERF_ATTESTD" "$dir/attestd"; else go build -o "$dir/attestd" ./cmd/attestd; fi
go build -o "$dir/floorcmp" ./internal/perf/floorcmp
metrics="127.0.0.1:${PERF_METRICS_PORT:-19464}"
rm -f "$dir"/attestd.db*
cat >"$dir/attestd.yaml" <<YAML
service: {address: attestation@cpam.example, domain: cpam.example}
imap:
  address: $ATTESTD_TEST_IMAP_ADDR
  username: $ATTESTD_TEST_IMAP_USER
  password_env: ATTESTD_TEST_IMAP_PASSWORD
${PERF_IDLE_WAKEUP:+  idle_wakeup: $PERF_IDLE_WAKEUP}
${PERF_BUSY_POLL:+  busy_poll: $PERF_BUSY_POLL}
smtp: {address: $ATTESTD_TEST_SMTP_ADDR}
store: {driver: sqlite, dsn: $dir/attestd.db}
trust:
  authserv_ids: [mx.attestation.example]
  agent_domains: [agents.cpam.example]
  gateway: {domain: messagerie.ameli.example, header: X-Ameli-NIR}
registry: {import_on_start: $PWD/samples/registry.json}
limits: {attestations_per_compte_per_day: 1000000, generic_replies_per_address_per_day: 1000000}
metrics: {address: $metrics}
${PERF_WORKERS:+workers: $PERF_WORKERS}
YAML

smtp_port="${ATTESTD_TEST_SMTP_ADDR##*:}"
"$dir/floorcmp" compare --imap "$ATTESTD_TEST_IMAP_ADDR" --user "$ATTESTD_TEST_IMAP_USER" \
	--smtp-host 127.0.0.1 --smtp-port "$smtp_port" --mailpit "$ATTESTD_TEST_MAILPIT_API" \
	--ready "http://$metrics/readyz" --log "$dir/responders.log" "$@" \
	-- "$dir/attestd" run --config "$dir/attestd.yaml" --today 2026-11-25 ${PERF_RUN_FLAGS:-}
