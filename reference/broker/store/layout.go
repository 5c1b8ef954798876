package store

// The durable store's file layout. A change to it that old code cannot
// read must raise schemaVersion, so that old code refuses the file rather
// than misread it.
const (
	// fileName is the bbolt file inside the data directory.
	fileName = "broker.db"
	// schemaVersion is the layout version this code reads and writes.
	// Version 1 stored records without checksums; it is refused, not
	// migrated (see checkSchema).
	schemaVersion = 2
)

// Buckets and keys. Every stored value carries its own integrity check
// (see codec.go), because bbolt checksums only its meta pages: a flipped
// bit in a value reads back as a valid, different value.
var (
	// bucketRequests maps a request id to sealed(proto.Marshal encoding).
	bucketRequests = []byte("requests")
	// bucketRevocations maps a big-endian sequence to sealed(proto-encoded RevocationEvent).
	bucketRevocations = []byte("revocations")
	// bucketAudit maps a big-endian sequence to the record's chain hash
	// (32 bytes) followed by its canonical JSON: see chainHash.
	bucketAudit = []byte("audit")
	// bucketMeta holds keySchema.
	bucketMeta = []byte("meta")
	// keySchema holds schemaVersion, big-endian.
	keySchema = []byte("schema")
	// dataBuckets are the buckets besides meta that every store file has.
	dataBuckets = [][]byte{bucketRequests, bucketRevocations, bucketAudit}
)
