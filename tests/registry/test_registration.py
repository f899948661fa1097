"""Registration, renewal with key rotation, deregistration, relayers, the log entry."""

import ape

from tests.world import Enclave

ELIGIBLE = 0


def test_register__binds_worker_and_emits(registry, pool, register_worker, code, chain, attestation_log):
    before = attestation_log.count()
    enclave = register_worker(pool)
    info = registry.workerInfo(enclave.address)
    assert info.registered and not info.invalidated
    assert info.measurementId == code.measurement_id
    assert info.poolId == pool
    assert info.attestedUntil > chain.blocks.head.timestamp
    assert registry.workerCount(pool) == 1
    assert registry.isEligible(enclave.address, code.measurement_id)
    assert attestation_log.count() == before + 1


def test_register__event_carries_keys_and_quote_hash(registry, pool, dev_verifier, operator, chain, code):
    from tests.world import quote_hash

    enclave = Enclave(code)
    quote = enclave.quote(chain.chain_id, registry.address, pool)
    tx = registry.registerWorker(
        pool, enclave.address, enclave.encryption_key, dev_verifier, quote, b"", sender=operator
    )
    event = tx.decode_logs(registry.WorkerRegistered)[0]
    assert event.worker == enclave.address
    assert event.encryptionKey == enclave.encryption_key
    assert event.quoteHash == quote_hash(quote)
    assert event.verifier == dev_verifier.address


def test_register__same_worker_twice__reverts(registry, pool, register_worker, dev_verifier, operator, chain):
    enclave = register_worker(pool)
    quote = enclave.quote(chain.chain_id, registry.address, pool)
    with ape.reverts(registry.RegistryWorkerExists):
        registry.registerWorker(
            pool, enclave.address, enclave.encryption_key, dev_verifier, quote, b"", sender=operator
        )


def test_register__verifier_not_allowed__reverts(registry, pool, project, gov, operator, chain, code):
    from pha.quote.dev import DEV_ADDRESS

    rogue = gov.deploy(project.DevQuoteVerifier, gov, DEV_ADDRESS, 86400)
    enclave = Enclave(code)
    quote = enclave.quote(chain.chain_id, registry.address, pool)
    with ape.reverts(registry.RegistryVerifierNotAllowed):
        registry.registerWorker(
            pool, enclave.address, enclave.encryption_key, rogue, quote, b"", sender=operator
        )


def test_register__unknown_measurement__reverts(registry, pool, register_worker):
    from tests.world import Code

    with ape.reverts(registry.RegistryMeasurementNotAllowed):
        register_worker(pool, code=Code.named("never-allowed"))


def test_renew__same_key__extends_attestation(registry, pool, register_worker, dev_verifier, operator, chain):
    enclave = register_worker(pool)
    first = registry.workerInfo(enclave.address).attestedUntil
    chain.pending_timestamp += 3 * 86400
    quote = enclave.quote(chain.chain_id, registry.address, pool)
    tx = registry.renewWorker(
        enclave.address, enclave.address, enclave.encryption_key, dev_verifier, quote, b"", sender=operator
    )
    assert registry.workerInfo(enclave.address).attestedUntil > first
    assert tx.decode_logs(registry.WorkerRenewed)[0].previousKey == enclave.address
    assert registry.workerCount(pool) == 1


def test_renew__rotation__old_key_stops_counting_at_once(
    registry, pool, register_worker, dev_verifier, operator, chain, code
):
    old = register_worker(pool)
    new = old.rotated()
    quote = new.quote(chain.chain_id, registry.address, pool)
    chain.pending_timestamp += 60  # a renewal needs a strictly newer verdict (the dev verifier stamps now)
    registry.renewWorker(
        old.address, new.address, new.encryption_key, dev_verifier, quote, b"", sender=operator
    )
    assert not registry.isEligible(old.address, code.measurement_id)
    assert registry.isEligible(new.address, code.measurement_id)
    assert not registry.workerInfo(old.address).registered
    assert registry.workerCount(pool) == 1


def test_renew__quote_bound_to_old_key__reverts(
    registry, pool, register_worker, dev_verifier, operator, chain
):
    old = register_worker(pool)
    new = old.rotated()
    quote = old.quote(chain.chain_id, registry.address, pool)
    with ape.reverts(registry.RegistryBindingMismatch):
        registry.renewWorker(
            old.address, new.address, new.encryption_key, dev_verifier, quote, b"", sender=operator
        )


def test_renew__by_another_operator__reverts(registry, pool, register_worker, dev_verifier, attacker, chain):
    enclave = register_worker(pool)
    quote = enclave.quote(chain.chain_id, registry.address, pool)
    with ape.reverts(registry.RegistryNotPoolOperator):
        registry.renewWorker(
            enclave.address,
            enclave.address,
            enclave.encryption_key,
            dev_verifier,
            quote,
            b"",
            sender=attacker,
        )


def test_deregister__removes_worker_and_frees_its_slot(registry, pool, register_worker, operator, code):
    enclave = register_worker(pool)
    tx = registry.deregisterWorker(enclave.address, sender=operator)
    assert not registry.workerInfo(enclave.address).registered
    assert registry.workerCount(pool) == 0
    assert not registry.isEligible(enclave.address, code.measurement_id)
    assert tx.decode_logs(registry.WorkerDeregistered)[0].worker == enclave.address


def test_deregister__unknown_or_by_stranger__reverts(registry, pool, register_worker, attacker, operator):
    with ape.reverts(registry.RegistryUnknownWorker):
        registry.deregisterWorker(attacker, sender=operator)
    enclave = register_worker(pool)
    with ape.reverts(registry.RegistryNotPoolOperator):
        registry.deregisterWorker(enclave.address, sender=attacker)


def test_deregister__stake_still_withdrawable(
    registry, staking, pool, register_worker, operator, chain, token
):
    register_worker(pool)
    shares = staking.sharesOf(pool, operator)
    staking.undelegate(pool, shares, sender=operator)
    enclave_count_before = registry.workerCount(pool)
    chain.pending_timestamp += staking.cooldown() + 1
    balance = token.balanceOf(operator)
    staking.withdraw(pool, 0, sender=operator)
    assert token.balanceOf(operator) > balance
    assert registry.workerCount(pool) == enclave_count_before


def test_set_relayer__operator_toggles_and_emits(registry, pool, operator, bob):
    tx = registry.setRelayer(pool, bob, True, sender=operator)
    assert registry.isRelayer(pool, bob)
    assert tx.decode_logs(registry.RelayerAuthorised)[0].authorised == 1
    registry.setRelayer(pool, bob, False, sender=operator)
    assert not registry.isRelayer(pool, bob)


def test_check__reports_pool_and_relayer(registry, pool, register_worker, code, relayer, bob):
    enclave = register_worker(pool)
    reason, pool_id = registry.check(enclave.address, code.measurement_id, 6, relayer)
    assert (reason, pool_id) == (ELIGIBLE, pool)
    reason, _ = registry.check(enclave.address, code.measurement_id, 6, bob)
    assert reason == 10  # RelayerNotAuthorised
