package fakes

// Targets Env.Clock accepts: the components whose clocks can be skewed.
const (
	// TargetClient is the calling client.
	TargetClient = "client"
	// TargetService is the protected service (the verifier).
	TargetService = "service"
	// TargetBroker is the JIT broker (the grant issuer).
	TargetBroker = "broker"
)

// Links Env.Link accepts: the network paths of a topology.
const (
	// LinkClientService carries the client's calls to the protected service.
	LinkClientService = "client-service"
	// LinkClientBroker carries the client's access requests to the broker.
	LinkClientBroker = "client-broker"
	// LinkServiceBroker carries the service's key and revocation traffic from the broker.
	LinkServiceBroker = "service-broker"
)
