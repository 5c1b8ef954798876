package containers

import (
	"context"
	"fmt"

	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/network"
	"github.com/moby/moby/client"
)

// PauseBroker freezes the broker's processes (the cgroup freezer): its
// connections stay open but nothing answers, as with a stalled host.
func (c *Cluster) PauseBroker(ctx context.Context) error {
	if _, err := c.cli.ContainerPause(ctx, c.broker.ID, client.ContainerPauseOptions{}); err != nil {
		return fmt.Errorf("pause the broker: %w", err)
	}
	return nil
}

// UnpauseBroker thaws a paused broker; it carries on where it stopped.
func (c *Cluster) UnpauseBroker(ctx context.Context) error {
	if _, err := c.cli.ContainerUnpause(ctx, c.broker.ID, client.ContainerUnpauseOptions{}); err != nil {
		return fmt.Errorf("unpause the broker: %w", err)
	}
	return nil
}

// KillBroker sends SIGKILL to the broker (kill -9: no shutdown, no last
// fsync) and returns once it has stopped running. Its volume, network
// aliases and published port stay, for RestartBroker.
func (c *Cluster) KillBroker(ctx context.Context) error {
	if _, err := c.cli.ContainerKill(ctx, c.broker.ID, client.ContainerKillOptions{Signal: "KILL"}); err != nil {
		return fmt.Errorf("kill the broker: %w", err)
	}
	return c.waitStopped(ctx, c.broker.ID)
}

// StopBroker stops the broker cleanly (SIGTERM): it closes its store, so
// the volume can be read by AuditLog or a restart.
func (c *Cluster) StopBroker(ctx context.Context) error {
	timeout := 10
	if _, err := c.cli.ContainerStop(ctx, c.broker.ID, client.ContainerStopOptions{Timeout: &timeout}); err != nil {
		return fmt.Errorf("stop the broker: %w", err)
	}
	return nil
}

// RestartBroker starts the stopped (killed) broker container again: same
// volume, same alias, same host port. It returns once the broker answers
// its health check from the host.
func (c *Cluster) RestartBroker(ctx context.Context) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	// testcontainers' Start runs the container's wait strategy again: the health check.
	if err := c.broker.Start(ctx); err != nil {
		return fmt.Errorf("restart the broker: %w", err)
	}
	return nil
}

// DisconnectVault cuts the Vault from the private network it shares with
// the broker: a partition between the two. The Vault keeps its edge
// network, so the host still reaches it; it loses the broker's revocation
// feed and keys.
func (c *Cluster) DisconnectVault(ctx context.Context) error {
	if _, err := c.cli.NetworkDisconnect(ctx, c.private, client.NetworkDisconnectOptions{Container: c.vault.ID}); err != nil {
		return fmt.Errorf("disconnect the Vault from %s: %w", c.private, err)
	}
	return nil
}

// ReconnectVault heals the partition: the Vault rejoins the private
// network under its alias.
func (c *Cluster) ReconnectVault(ctx context.Context) error {
	if _, err := c.cli.NetworkConnect(ctx, c.private, client.NetworkConnectOptions{
		Container: c.vault.ID, EndpointConfig: &network.EndpointSettings{Aliases: []string{VaultAlias}},
	}); err != nil {
		return fmt.Errorf("reconnect the Vault to %s: %w", c.private, err)
	}
	return nil
}

// VaultNetworks lists the networks the Vault container is on, as the engine sees them.
func (c *Cluster) VaultNetworks(ctx context.Context) ([]string, error) {
	return c.vault.Networks(ctx)
}

// waitStopped returns once container id is not running.
func (c *Cluster) waitStopped(ctx context.Context, id string) error {
	res := c.cli.ContainerWait(ctx, id, client.ContainerWaitOptions{Condition: container.WaitConditionNotRunning})
	select {
	case <-res.Result:
		return nil
	case err := <-res.Error:
		return fmt.Errorf("wait for container %s to stop: %w", id[:12], err)
	}
}
