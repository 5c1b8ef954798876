package measure_test

import (
	"os"
	"testing"

	"github.com/jitbench/jitbench/fakes/zoo"
)

// TestMain lets zoo.StartProcess run this test binary as a zoo target.
func TestMain(m *testing.M) {
	zoo.MainIfChild()
	os.Exit(m.Run())
}
