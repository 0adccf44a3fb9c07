package devenv

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
)

const (
	// maxSocketPath keeps <socket dir>/.s.PGSQL.<port> inside the ~107 bytes a unix socket
	// address holds, with room to spare.
	maxSocketPath = 100
	// socketFile is the name of the server's socket in its socket directory (default port).
	socketFile = ".s.PGSQL.5432"
	// runAs is the user the binaries run as when this process is root (initdb refuses root).
	runAs = "postgres"
)

// cluster is a private PostgreSQL cluster under a data directory.
type cluster struct {
	bin     string     // directory holding initdb and pg_ctl
	data    string     // absolute data directory
	sockets string     // directory for the unix socket
	logFile string     // server log
	owner   *user.User // set when running as root: the binaries run as this user
}

// startCluster runs the private cluster under <dataDir>/pg: it makes it if needed and starts it
// unless it is already running, then makes sure the development database exists.
func startCluster(ctx context.Context, log *slog.Logger, dataDir string, binDirs []string) (string, func(context.Context) error, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if dataDir == "" {
		return "", nil, errors.New("no data directory given for the private PostgreSQL cluster")
	}
	dataDir, err := filepath.Abs(dataDir)
	if err != nil {
		return "", nil, err
	}
	c := &cluster{data: filepath.Join(dataDir, "pg")}
	c.logFile = filepath.Join(c.data, "postgres.log")
	c.sockets = socketDir(c.data)
	c.bin = pickBinDir(binDirs, c.data)
	if os.Geteuid() == 0 {
		if c.owner, err = user.Lookup(runAs); err != nil {
			return "", nil, fmt.Errorf("running as root, PostgreSQL must run as user %s: %w", runAs, err)
		}
	}
	if err := c.prepareDirs(log, dataDir); err != nil {
		return "", nil, err
	}

	started := false
	running, err := c.running(ctx)
	if err != nil {
		return "", nil, err
	}
	if running {
		log.Info("PostgreSQL: reusing the running private cluster", "dir", c.data)
	} else {
		if !exists(filepath.Join(c.data, "PG_VERSION")) {
			log.Info("PostgreSQL: initialising a private cluster", "dir", c.data, "bin", c.bin)
			if err := c.run(ctx, "initdb", "-D", c.data, "-U", "postgres", "-A", "trust",
				"--no-sync", "-E", "UTF8", "--locale=C"); err != nil {
				return "", nil, err
			}
		}
		log.Info("PostgreSQL: starting the private cluster", "dir", c.data, "socket", c.sockets, "log", c.logFile)
		opts := fmt.Sprintf("-k '%s' -c listen_addresses='' -c fsync=off", c.sockets)
		if err := c.run(ctx, "pg_ctl", "-D", c.data, "-w", "-t", "60", "-o", opts, "-l", c.logFile, "start"); err != nil {
			// Another process may have started it meanwhile; otherwise the log says why.
			if ok, _ := c.running(ctx); !ok {
				return "", nil, fmt.Errorf("%w\n%s", err, tail(c.logFile, 2048))
			}
		} else {
			started = true
		}
	}

	admin, dbURL, err := c.urls()
	if err == nil {
		err = ensureDatabase(ctx, admin, dbName)
	}
	if err != nil {
		if started {
			_ = c.stop(context.WithoutCancel(ctx))
		}
		return "", nil, err
	}
	stop := noop
	if started {
		stop = c.stop
	}
	log.Info("PostgreSQL: using the private cluster", "url", dbURL)
	return dbURL, stop, nil
}

// prepareDirs makes the data and socket directories and, as root, hands them to the owner.
func (c *cluster) prepareDirs(log *slog.Logger, dataDir string) error {
	if err := os.MkdirAll(dataDir, 0o755); err != nil { //nolint:gosec // the server user must traverse DATA_DIR
		return err
	}
	if c.owner != nil {
		// The server user must be able to pass through dataDir to reach its own directory.
		fi, err := os.Stat(dataDir)
		if err != nil {
			return err
		}
		if fi.Mode().Perm()&0o001 == 0 {
			log.Info("PostgreSQL: letting user postgres through the data directory", "dir", dataDir)
			if err := os.Chmod(dataDir, fi.Mode().Perm()|0o001); err != nil {
				return err
			}
		}
	}
	for _, dir := range []string{c.data, c.sockets} {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return err
		}
		if err := c.own(dir); err != nil {
			return err
		}
	}
	if c.owner != nil {
		// A parent directory closed to others makes every later step fail obscurely.
		for _, dir := range slices.Compact([]string{c.data, c.sockets}) {
			if err := c.run(context.Background(), "", "test", "-w", dir); err != nil {
				return fmt.Errorf("user %s cannot write to %s: make its parent directories searchable by others, or choose another data directory", runAs, dir)
			}
		}
	}
	return nil
}

// own makes sure dir belongs to whoever runs the server and is private to them, refusing a
// directory someone else made (a socket directory in /tmp, say).
func (c *cluster) own(dir string) error {
	fi, err := os.Lstat(dir)
	if err != nil {
		return err
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok || !fi.IsDir() {
		return fmt.Errorf("%s is not a directory", dir)
	}
	uid, gid := os.Geteuid(), os.Getegid()
	if c.owner != nil {
		uid, _ = strconv.Atoi(c.owner.Uid)
		gid, _ = strconv.Atoi(c.owner.Gid)
	}
	switch {
	case int(st.Uid) == uid:
	case st.Uid == 0 && c.owner != nil:
		if err := os.Chown(dir, uid, gid); err != nil {
			return err
		}
	default:
		return fmt.Errorf("%s belongs to uid %d, not to the user running PostgreSQL (uid %d)", dir, st.Uid, uid)
	}
	return os.Chmod(dir, 0o700) //nolint:gosec // PostgreSQL requires 0700 on its data directory
}

// running reports whether the cluster's server is up.
func (c *cluster) running(ctx context.Context) (bool, error) {
	if !exists(filepath.Join(c.data, "PG_VERSION")) {
		return false, nil
	}
	err := c.run(ctx, "pg_ctl", "-D", c.data, "status")
	var exit *exec.ExitError
	switch {
	case err == nil:
		return true, nil
	case errors.As(err, &exit) && exit.ExitCode() == 3: // not running
		return false, nil
	case errors.As(err, &exit):
		return false, nil // 4: not a data directory; initdb or start will say more
	default:
		return false, err
	}
}

// stop shuts the server down (fast mode: sessions are ended, nothing is lost).
func (c *cluster) stop(ctx context.Context) error {
	return c.run(ctx, "pg_ctl", "-D", c.data, "-w", "-t", "60", "-m", "fast", "stop")
}

// urls reads where the running server listens from postmaster.pid and returns an admin
// connection string and the development database's URL.
func (c *cluster) urls() (admin, db string, err error) {
	b, err := os.ReadFile(filepath.Join(c.data, "postmaster.pid"))
	if err != nil {
		return "", "", fmt.Errorf("read server address: %w", err)
	}
	// Lines: pid, data dir, start time, port, first socket directory, listen address, ...
	lines := strings.Split(string(b), "\n")
	if len(lines) < 5 || strings.TrimSpace(lines[4]) == "" {
		return "", "", fmt.Errorf("%s/postmaster.pid names no unix socket directory", c.data)
	}
	port, sockets := strings.TrimSpace(lines[3]), strings.TrimSpace(lines[4])
	query := "host=" + queryEscape(sockets)
	if port != "5432" {
		query += "&port=" + queryEscape(port)
	}
	query += "&user=postgres&sslmode=disable"
	return "postgres:///postgres?" + query, "postgres:///" + dbName + "?" + query, nil
}

// queryEscape escapes a query value but keeps slashes, so socket paths stay readable.
func queryEscape(s string) string {
	return strings.ReplaceAll(url.QueryEscape(s), "%2F", "/")
}

// run runs a PostgreSQL binary from c.bin (or, with an empty program, a plain command) as the
// cluster's owner, returning its output in the error when it fails.
func (c *cluster) run(ctx context.Context, program string, args ...string) error {
	var name string
	if program == "" {
		name, args = args[0], args[1:]
	} else {
		name = filepath.Join(c.bin, program)
	}
	if c.owner != nil {
		args = append([]string{"-u", c.owner.Username, "--", name}, args...)
		name = runuserPath()
	}
	cmd := exec.CommandContext(ctx, name, args...) //nolint:gosec // PostgreSQL binaries found on this machine
	cmd.Dir = "/"                                  // the server user may not be allowed into the current directory
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("%s: %w: %s", strings.Join(cmd.Args, " "), err, strings.TrimSpace(out.String()))
	}
	return nil
}

// runuserPath finds runuser, which is in sbin directories that may be missing from PATH.
func runuserPath() string {
	if p, err := exec.LookPath("runuser"); err == nil {
		return p
	}
	for _, p := range []string{"/usr/sbin/runuser", "/sbin/runuser", "/usr/bin/runuser"} {
		if exists(p) {
			return p
		}
	}
	return "runuser"
}

// socketDir returns the data directory when its socket path is short and plain enough, else a
// short directory in /tmp named after a hash of the data directory.
func socketDir(data string) string {
	if len(data)+1+len(socketFile) <= maxSocketPath && plainPath(data) {
		return data
	}
	sum := sha256.Sum256([]byte(data))
	return "/tmp/poolgate-" + hex.EncodeToString(sum[:])[:12]
}

// plainPath reports whether a path needs no quoting inside pg_ctl's -o option, which a shell
// splits, nor in the server's list of socket directories.
func plainPath(p string) bool {
	return p != "" && strings.Trim(p, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789/._+-") == ""
}

// systemBinDirs lists directories holding both initdb and pg_ctl: Debian's
// /usr/lib/postgresql/<version>/bin, highest version first, then the one on PATH.
func systemBinDirs() []string {
	var dirs []string
	matches, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	slices.SortFunc(matches, func(a, b string) int { return compareVersions(versionOf(b), versionOf(a)) })
	if p, err := exec.LookPath("initdb"); err == nil {
		matches = append(matches, filepath.Dir(p))
	}
	for _, d := range matches {
		if exists(filepath.Join(d, "initdb")) && exists(filepath.Join(d, "pg_ctl")) && !slices.Contains(dirs, d) {
			dirs = append(dirs, d)
		}
	}
	return dirs
}

// pickBinDir prefers the binaries of the version an existing cluster was made with (a newer
// major version cannot start it), else the first directory.
func pickBinDir(dirs []string, data string) string {
	if b, err := os.ReadFile(filepath.Join(data, "PG_VERSION")); err == nil { //nolint:gosec // the cluster directory
		want := strings.TrimSpace(string(b))
		for _, d := range dirs {
			if versionOf(d) == want {
				return d
			}
		}
	}
	return dirs[0]
}

// versionOf returns <version> of /usr/lib/postgresql/<version>/bin, or "".
func versionOf(binDir string) string {
	if filepath.Base(binDir) != "bin" {
		return ""
	}
	return filepath.Base(filepath.Dir(binDir))
}

// compareVersions orders dotted numeric versions ("9.6" < "15" < "16.1").
func compareVersions(a, b string) int {
	pa, pb := strings.Split(a, "."), strings.Split(b, ".")
	for i := range max(len(pa), len(pb)) {
		var x, y int
		if i < len(pa) {
			x, _ = strconv.Atoi(pa[i])
		}
		if i < len(pb) {
			y, _ = strconv.Atoi(pb[i])
		}
		if x != y {
			return x - y
		}
	}
	return 0
}

// tail returns up to the last n bytes of a file, for error messages.
func tail(path string, n int64) string {
	f, err := os.Open(path) //nolint:gosec // the cluster's own log
	if err != nil {
		return ""
	}
	defer f.Close()
	if fi, err := f.Stat(); err == nil && fi.Size() > n {
		_, _ = f.Seek(-n, io.SeekEnd)
	}
	b, _ := io.ReadAll(f)
	return "server log " + path + ":\n" + string(b)
}

func exists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}
