"""Shared Python library of the PHA L2 stack: local chains, deployments, EIP-712, quotes, migration."""
