package store

import (
	"os"
	"testing"
)

// crashHelperEnv, set to a data directory, turns the test binary into the
// committing process TestCrashDurability kills.
const crashHelperEnv = "JITBENCH_STORE_CRASH_HELPER"

func TestMain(m *testing.M) {
	if dir := os.Getenv(crashHelperEnv); dir != "" {
		os.Exit(runCrashHelper(dir))
	}
	os.Exit(m.Run())
}
