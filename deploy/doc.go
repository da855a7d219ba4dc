// Package deploy holds the files that run attestd outside Go: the Dovecot
// configuration shared by CI (.ci/servers.sh) and docker-compose.yml, the
// attestd configurations that the compose file mounts, and their README.
//
// It has no code. Its test reads docker-compose.yml and every file it mounts,
// and fails when they drift apart: a mounted or built path that does not
// exist, a volume not declared, an IMAP user or password that Dovecot does
// not know, a port that no server listens on.
package deploy
