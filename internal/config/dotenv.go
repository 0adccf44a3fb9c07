package config

import (
	"bufio"
	"os"
	"strings"
)

// WithDotenv wraps getenv so that variables missing from the environment are read from a .env
// file (KEY=VALUE lines, # comments, optional quotes). A missing file is not an error.
func WithDotenv(getenv Getenv, path string) Getenv {
	f, err := os.Open(path) //nolint:gosec // the operator's own file
	if err != nil {
		return getenv
	}
	defer f.Close()
	vals := map[string]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		line = strings.TrimPrefix(line, "export ")
		k, v, ok := strings.Cut(line, "=")
		if !ok {
			continue
		}
		v = strings.TrimSpace(v)
		if len(v) >= 2 && (v[0] == '"' || v[0] == '\'') && v[len(v)-1] == v[0] {
			v = v[1 : len(v)-1]
		}
		vals[strings.TrimSpace(k)] = v
	}
	return func(name string) string {
		if v := getenv(name); v != "" {
			return v
		}
		return vals[name]
	}
}
