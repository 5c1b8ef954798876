package fakes

// KindContainerKill names the fault that kills the broker's container and restarts it.
const KindContainerKill = "container-kill"

type containerKillParams struct{}

func init() {
	register(KindContainerKill, "kills the broker's container with SIGKILL when the window opens and restarts it on its volume when it closes; topology container only",
		containerKillParams{}, newContainerKill)
	onExternal(KindContainerKill, "refused: it acts on the reference's containers")
	hold(KindContainerKill, holdsBrokerContainer)
}

func newContainerKill(params map[string]any) (Fault, error) {
	if err := decodeParams(params, &containerKillParams{}); err != nil {
		return nil, err
	}
	return containerFault(Containers.KillBroker, Containers.RestartBroker), nil
}
