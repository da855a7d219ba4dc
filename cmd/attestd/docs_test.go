package main

import (
	"fmt"
	"os"
	"regexp"
	"strings"
	"testing"
)

// docs/commands.md follows the command table: a section per command with
// its usage line and every flag its --help lists, and every exit status.
func TestDocsCommands(t *testing.T) {
	b, err := os.ReadFile("../../docs/commands.md")
	if err != nil {
		t.Fatal(err)
	}
	doc := string(b)
	sections := map[string]string{}
	for _, s := range strings.Split(doc, "\n### ")[1:] {
		name, body, _ := strings.Cut(s, "\n")
		sections[name] = body
	}
	flagLine := regexp.MustCompile(`(?m)^  -(\S+)`)
	for _, c := range commands() {
		body, ok := sections["attestd "+c.name]
		if !ok {
			t.Errorf("docs/commands.md has no section ### attestd %s", c.name)
			continue
		}
		if !strings.Contains(body, "`"+c.line()+"`") {
			t.Errorf("docs/commands.md, attestd %s: the usage line `%s` is not there", c.name, c.line())
		}
		_, help, _ := attestd(t, append(strings.Fields(c.name), "--help")...)
		for _, m := range flagLine.FindAllStringSubmatch(help, -1) {
			flag := "--" + m[1]
			if len(m[1]) == 1 {
				flag = "-" + m[1] // -o
			}
			if !strings.Contains(body, flag) && !strings.Contains(doc, "`"+flag+"`") {
				t.Errorf("docs/commands.md, attestd %s: flag %s is not described", c.name, flag)
			}
		}
	}
	for _, code := range []int{exitOK, exitFailed, exitUsage, exitRefused, exitNoCode, exitConfig} {
		if !strings.Contains(doc, fmt.Sprintf("\n| %d | ", code)) {
			t.Errorf("docs/commands.md: exit status %d is not in the table", code)
		}
	}
}
