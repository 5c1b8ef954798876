package store

// The durable store's file layout. A change to it that old code cannot
// read must raise schemaVersion, so that old code refuses the file rather
// than misread it.
const (
	// fileName is the bbolt file inside the data directory.
	fileName = "broker.db"
	// schemaVersion is the layout version this code reads and writes.
	schemaVersion = 1
)

// Buckets and keys.
var (
	// bucketRequests maps a request id to its proto.Marshal encoding.
	bucketRequests = []byte("requests")
	// bucketRevocations maps a big-endian sequence to a proto-encoded RevocationEvent.
	bucketRevocations = []byte("revocations")
	// bucketAudit maps a big-endian sequence to a JSON AuditRecord.
	bucketAudit = []byte("audit")
	// bucketMeta holds keySchema.
	bucketMeta = []byte("meta")
	// keySchema holds schemaVersion, big-endian.
	keySchema = []byte("schema")
	// dataBuckets are the buckets besides meta that every store file has.
	dataBuckets = [][]byte{bucketRequests, bucketRevocations, bucketAudit}
)
