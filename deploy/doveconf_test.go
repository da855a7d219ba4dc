package deploy

import (
	"bufio"
	"fmt"
	"os"
	"strings"
)

// doveconf is the subset of Dovecot's configuration syntax these files use:
// "key = value", "name [arg] {" ... "}" sections, "#" comments and
// "!include path". Settings are flattened to section paths, e.g.
// "service imap-login/inet_listener imap/port"; a later value overrides an
// earlier one, as in Dovecot.
type doveconf map[string]string

// readDoveconf reads file and the files it includes, in order. resolve maps
// an include path as Dovecot sees it to a file on this machine.
func readDoveconf(file string, resolve func(string) (string, error)) (doveconf, error) {
	conf := doveconf{}
	if err := conf.read(file, resolve, 0); err != nil {
		return nil, err
	}
	return conf, nil
}

func (c doveconf) read(file string, resolve func(string) (string, error), depth int) error {
	if depth > 5 {
		return fmt.Errorf("%s: includes nested too deep", file)
	}
	f, err := os.Open(file)
	if err != nil {
		return err
	}
	defer f.Close()
	var sections []string
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if i := strings.Index(line, "#"); i >= 0 {
			line = strings.TrimSpace(line[:i])
		}
		switch {
		case line == "":
		case strings.HasPrefix(line, "!include"):
			target, err := resolve(strings.TrimSpace(strings.TrimPrefix(line, "!include")))
			if err != nil {
				return fmt.Errorf("%s:%d: %w", file, n, err)
			}
			if err := c.read(target, resolve, depth+1); err != nil {
				return err
			}
		case strings.HasSuffix(line, "{"):
			sections = append(sections, strings.Join(strings.Fields(strings.TrimSuffix(line, "{")), " "))
		case line == "}":
			if len(sections) == 0 {
				return fmt.Errorf("%s:%d: } closes no section", file, n)
			}
			sections = sections[:len(sections)-1]
		default:
			key, value, ok := strings.Cut(line, "=")
			if !ok {
				return fmt.Errorf("%s:%d: %q is not key = value", file, n, line)
			}
			path := append(append([]string{}, sections...), strings.TrimSpace(key))
			c[strings.Join(path, "/")] = strings.TrimSpace(value)
		}
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("%s: %w", file, err)
	}
	if len(sections) > 0 {
		return fmt.Errorf("%s: section %q not closed", file, sections[len(sections)-1])
	}
	return nil
}

// readPasswd reads a Dovecot passwd-file with {PLAIN} passwords into a map
// from user to password.
func readPasswd(file string) (map[string]string, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	users := map[string]string{}
	for n, line := range strings.Split(string(data), "\n") {
		if line = strings.TrimSpace(line); line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		fields := strings.Split(line, ":")
		if len(fields) < 2 || !strings.HasPrefix(fields[1], "{PLAIN}") {
			return nil, fmt.Errorf("%s:%d: want user:{PLAIN}password", file, n+1)
		}
		users[fields[0]] = strings.TrimPrefix(fields[1], "{PLAIN}")
	}
	return users, nil
}
