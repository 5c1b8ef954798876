// Package brokerclient is the client side of the reference JIT broker
// (jit.v1.Broker).
//
// It has three parts, one per kind of broker user:
//
//   - GrantSource obtains grants for a caller: it opens an access request,
//     watches it until a decision, caches approved grants per scope, and turns
//     every way of not getting one into a *reason.Error (APPROVAL_PENDING,
//     APPROVAL_DENIED, BROKER_UNAVAILABLE) that interceptor.Credentials sends
//     as the call's status.
//   - Revocations follows the broker's revocation feed for a verifier and
//     answers token.Revocations, failing closed (Strict) or open (BestEffort)
//     when the view is older than its bound. It keeps each revocation until
//     the verifier would refuse the grant as expired (exp plus its leeway),
//     rebuilds its view when the feed's epoch changes (a broker restarted
//     without its store), and passes on the key set the feed announces.
//   - KeySource fetches the broker's public keys for a verifier and answers
//     token.KeyResolver, keeping cached keys when the broker goes away, and
//     fetching them again as soon as the feed announces a key change.
//
// Times that are compared with a context deadline (how long a call waited,
// whether a backoff still fits) use the real clock, because Go measures
// deadlines in real time; times compared with token claims (grant expiry,
// renewal, staleness of the revocation view, key refresh) use the injected
// clockwork.Clock, so tests and skew scenarios can move them.
package brokerclient
