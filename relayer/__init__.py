"""The PHA relayer: carries jobs from the JobEscrow to enclave workers and their signed results back."""
