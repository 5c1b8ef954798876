package broker

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"

	"github.com/jitbench/jitbench/reference/broker/store"
)

// epochStore is a store that keeps a revocation-feed epoch of its own
// across restarts (the durable store does).
type epochStore interface {
	Epoch() (string, error)
}

// feedEpoch returns the epoch of s's revocation numbering: the store's own
// when it keeps one, else a random one for this broker. A verifier that
// resumes the feed in another epoch is replayed the feed from the start,
// so a broker restarted on an empty store (numbering from 1 again) cannot
// hide its first revocations behind the sequence the verifier had reached.
// A fresh epoch for a store that did keep its numbering costs only a replay.
func feedEpoch(s store.Store) (string, error) {
	if es, ok := s.(epochStore); ok {
		epoch, err := es.Epoch()
		if err != nil {
			return "", fmt.Errorf("read the store's feed epoch: %w", err)
		}
		if epoch != "" {
			return epoch, nil
		}
	}
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("draw a feed epoch: %w", err)
	}
	return hex.EncodeToString(b), nil
}

// Epoch returns the epoch of the broker's revocation feed, which every feed
// event carries.
func (b *Broker) Epoch() string { return b.feed.epoch }
