package config

import (
	"bufio"
	"crypto/rand"
	"encoding/base64"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"gopkg.in/yaml.v3"
)

// TestDeploymentFiles holds docker-compose.yml and deploy/poolgate.env.example to the
// configuration table: every variable they name (set or commented out) is one Poolgate knows, and
// the example, once its empty secrets are filled as its comments say, with the compose file's own
// environment on top, loads as a valid production configuration.
func TestDeploymentFiles(t *testing.T) {
	t.Parallel()
	known := map[string]bool{}
	for _, o := range Options {
		known[o.name] = true
	}
	root := filepath.Join("..", "..")

	env := map[string]string{}
	f, err := os.Open(filepath.Join(root, "deploy", "poolgate.env.example"))
	require.NoError(t, err)
	defer f.Close()
	line := regexp.MustCompile(`^#?\s*([A-Z][A-Z0-9_]*)=(.*)$`)
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		m := line.FindStringSubmatch(strings.TrimSpace(sc.Text()))
		if m == nil {
			continue
		}
		require.True(t, known[m[1]], "deploy/poolgate.env.example names %s, which Poolgate does not read", m[1])
		if !strings.HasPrefix(sc.Text(), "#") {
			env[m[1]] = m[2]
		}
	}
	require.NoError(t, sc.Err())

	compose, err := os.ReadFile(filepath.Join(root, "docker-compose.yml"))
	require.NoError(t, err)
	var c struct {
		Services map[string]struct {
			Environment map[string]string `yaml:"environment"`
			EnvFile     string            `yaml:"env_file"`
		} `yaml:"services"`
	}
	require.NoError(t, yaml.Unmarshal(compose, &c))
	svc, ok := c.Services["poolgate"]
	require.True(t, ok, "docker-compose.yml has no poolgate service")
	require.Equal(t, "deploy/poolgate.env", svc.EnvFile)
	for k, v := range svc.Environment {
		require.True(t, known[k], "docker-compose.yml sets %s, which Poolgate does not read", k)
		env[k] = v
	}

	// Fill the secrets the example leaves empty, as its comments say (openssl rand -base64 32/48).
	for k, n := range map[string]int{"ENCRYPTION_KEY": 32, "JWT_SECRET": 48} {
		require.Contains(t, env, k, "the example must list %s", k)
		if env[k] == "" {
			b := make([]byte, n)
			_, _ = rand.Read(b)
			env[k] = base64.StdEncoding.EncodeToString(b)
		}
	}
	cfg, err := Load(func(k string) string { return env[k] })
	require.NoError(t, err, "the deployment example does not load")
	require.NoError(t, cfg.Validate())
}
