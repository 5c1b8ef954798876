package brokerclient

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestPendingRequestsAreHandedOutOnceInOrder(t *testing.T) {
	var p pendingRequests
	assert.Empty(t, p.take("read"))
	p.put("read", "req-1")
	p.put("read", "req-2")
	p.put("write", "req-3")
	assert.Equal(t, "req-1", p.take("read"))
	assert.Equal(t, "req-2", p.take("read"))
	assert.Empty(t, p.take("read"))
	assert.Equal(t, "req-3", p.take("write"))
}

func TestPendingRequestsAreBounded(t *testing.T) {
	var p pendingRequests
	for i := range maxPendingPerScope + 4 {
		p.put("read", fmt.Sprintf("req-%d", i))
	}
	assert.Equal(t, "req-4", p.take("read"), "the oldest are dropped")
	assert.Len(t, p.m["read"], maxPendingPerScope-1)
}
