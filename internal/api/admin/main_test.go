package admin_test

import (
	"testing"

	"go.uber.org/goleak"

	"github.com/poolgate/poolgate/internal/apptest"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(apptest.ScanSecrets(m),
		goleak.IgnoreTopFunction("internal/poll.runtime_pollWait"),
		goleak.IgnoreTopFunction("net/http.(*persistConn).writeLoop"),
		goleak.IgnoreTopFunction("net/http.(*persistConn).readLoop"),
		goleak.IgnoreTopFunction("github.com/jackc/pgx/v5/pgxpool.(*Pool).backgroundHealthCheck"),
	)
}
