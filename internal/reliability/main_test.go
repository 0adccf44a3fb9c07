package reliability_test

import (
	"flag"
	"testing"

	"go.uber.org/goleak"

	"github.com/poolgate/poolgate/internal/apptest"
)

// parallel is how many of the package's parallel tests run at once unless -parallel says
// otherwise. The tests wait on PostgreSQL, Redis, upstream delays and outages far more than they
// compute, so the default (GOMAXPROCS: 2 on the CI machine) left the package running one world
// after another for many minutes.
const parallel = "6"

func TestMain(m *testing.M) {
	flag.Parse()
	set := false
	flag.Visit(func(f *flag.Flag) { set = set || f.Name == "test.parallel" })
	if !set {
		if err := flag.Set("test.parallel", parallel); err != nil {
			panic(err)
		}
	}
	goleak.VerifyTestMain(apptest.ScanSecrets(m),
		goleak.IgnoreTopFunction("internal/poll.runtime_pollWait"),
		goleak.IgnoreTopFunction("net/http.(*persistConn).writeLoop"),
		goleak.IgnoreTopFunction("net/http.(*persistConn).readLoop"),
		goleak.IgnoreTopFunction("github.com/jackc/pgx/v5/pgxpool.(*Pool).backgroundHealthCheck"),
	)
}
