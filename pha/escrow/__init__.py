"""Off-chain side of the JobEscrow: EIP-712 typed data of results and batches (pha.escrow.typed_data)."""
