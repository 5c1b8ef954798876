package store

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"

	bolt "go.etcd.io/bbolt"
)

// keyEpoch holds, in bucketMeta, the random id of this file's revocation
// numbering. It is written once and never changes, so verifiers that
// resume the feed after a restart keep their place; a new file gets a new
// one, and verifiers that saw the old numbering replay from the start.
var keyEpoch = []byte("epoch")

// epochBytes is the length of a new epoch.
const epochBytes = 16

// Epoch returns the durable store's feed epoch, creating it on first use.
// The broker reads it through an optional interface, so other stores need
// not have one (the broker then picks a random epoch per start).
func (s *durable) Epoch() (string, error) {
	var epoch []byte
	err := s.view(func(tx *bolt.Tx) error {
		epoch = bytes.Clone(tx.Bucket(bucketMeta).Get(keyEpoch))
		return nil
	})
	if err != nil || epoch != nil {
		return hex.EncodeToString(epoch), err
	}
	fresh := make([]byte, epochBytes)
	if _, err := rand.Read(fresh); err != nil {
		return "", err
	}
	err = s.db.Update(func(tx *bolt.Tx) error {
		meta := tx.Bucket(bucketMeta)
		if got := meta.Get(keyEpoch); got != nil {
			epoch = bytes.Clone(got) // another Epoch call wrote it first
			return nil
		}
		epoch = fresh
		return meta.Put(keyEpoch, fresh)
	})
	if err != nil {
		return "", err
	}
	return hex.EncodeToString(epoch), nil
}
