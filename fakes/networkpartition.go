package fakes

// KindNetworkPartition names the fault that cuts the service's container from the broker's.
const KindNetworkPartition = "network-partition"

type networkPartitionParams struct{}

func init() {
	register(KindNetworkPartition, "disconnects the service's container from the network it shares with the broker for the window, then reconnects it; callers still reach both; topology container only",
		networkPartitionParams{}, newNetworkPartition)
	onExternal(KindNetworkPartition, "refused: it acts on the reference's containers")
	hold(KindNetworkPartition, holdsVaultNetwork)
}

func newNetworkPartition(params map[string]any) (Fault, error) {
	if err := decodeParams(params, &networkPartitionParams{}); err != nil {
		return nil, err
	}
	return containerFault(Containers.DisconnectVault, Containers.ReconnectVault), nil
}
