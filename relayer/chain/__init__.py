"""Chain access of the relayer: RPC with failover (rpc), event watcher with reorg detection
(watcher), transaction manager with nonces, fees, simulation and replacement (txmanager)."""
