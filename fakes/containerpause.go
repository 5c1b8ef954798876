package fakes

// KindContainerPause names the fault that freezes the broker's container.
const KindContainerPause = "container-pause"

type containerPauseParams struct{}

func init() {
	register(KindContainerPause, "freezes the broker's container for the window (docker pause): its connections stay open but nothing answers; topology container only",
		containerPauseParams{}, newContainerPause)
	onExternal(KindContainerPause, "refused: it acts on the reference's containers")
	hold(KindContainerPause, holdsBrokerContainer)
}

func newContainerPause(params map[string]any) (Fault, error) {
	if err := decodeParams(params, &containerPauseParams{}); err != nil {
		return nil, err
	}
	return containerFault(Containers.PauseBroker, Containers.UnpauseBroker), nil
}
