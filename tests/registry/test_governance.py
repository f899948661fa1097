"""Measurement allow-list, policies, advisories, verifiers and parameters: governance only, evented."""

import ape
import pytest

from tests.world import Code

ALLOWED, REVOKED, UNKNOWN = 1, 2, 0


def test_allow_measurement__stores_policy_and_emits_build_info(registry, gov, default_policy):
    code = Code.named("gov/allow")
    build = ("pha-worker v1", bytes.fromhex("ab" * 20), bytes.fromhex("cd" * 32))
    tx = registry.allowMeasurement(code.measurement_id, default_policy, build, sender=gov)
    assert registry.measurementStatus(code.measurement_id) == ALLOWED
    policy = registry.policyOf(code.measurement_id)
    assert (policy.teeType, policy.expiresAt, policy.maxTcbStatus, policy.outOfDateGrace) == default_policy[
        :4
    ]
    event = tx.decode_logs(registry.MeasurementAllowed)[0]
    assert event.measurementId == code.measurement_id
    assert event.build[0] == "pha-worker v1"
    assert event.build[1] == bytes.fromhex("ab" * 20)


def test_allow_measurement__non_admin__reverts(registry, attacker, default_policy):
    with ape.reverts(registry.AccessControlUnauthorizedAccount):
        registry.allowMeasurement(
            Code.named("x").measurement_id, default_policy, ("", bytes(20), bytes(32)), sender=attacker
        )


def test_allow_measurement__tee_type_none__reverts(registry, gov, default_policy):
    policy = (0, *default_policy[1:])
    with ape.reverts(registry.RegistryTeeTypeMismatch):
        registry.allowMeasurement(
            Code.named("x").measurement_id, policy, ("", bytes(20), bytes(32)), sender=gov
        )


def test_revoke_measurement__marks_revoked_and_emits(registry, gov, allow):
    code = Code.named("gov/revoke")
    allow(code)
    tx = registry.revokeMeasurement(code.measurement_id, sender=gov)
    assert registry.measurementStatus(code.measurement_id) == REVOKED
    assert tx.decode_logs(registry.MeasurementRevoked)[0].measurementId == code.measurement_id


def test_revoke_measurement__unknown_or_twice__reverts(registry, gov, allow):
    code = Code.named("gov/revoke-twice")
    with ape.reverts(registry.RegistryMeasurementNotAllowed):
        registry.revokeMeasurement(code.measurement_id, sender=gov)
    allow(code)
    registry.revokeMeasurement(code.measurement_id, sender=gov)
    with ape.reverts(registry.RegistryMeasurementNotAllowed):
        registry.revokeMeasurement(code.measurement_id, sender=gov)


def test_revoke_measurement__non_admin__reverts(registry, allow, attacker):
    code = Code.named("gov/revoke-attacker")
    allow(code)
    with ape.reverts(registry.AccessControlUnauthorizedAccount):
        registry.revokeMeasurement(code.measurement_id, sender=attacker)


def test_set_policy__only_for_allowed_and_emits(registry, gov, allow, default_policy):
    code = Code.named("gov/policy")
    with ape.reverts(registry.RegistryMeasurementNotAllowed):
        registry.setPolicy(code.measurement_id, default_policy, sender=gov)
    allow(code)
    stricter = (2, 0, 0, 0, default_policy[4], default_policy[5])
    tx = registry.setPolicy(code.measurement_id, stricter, sender=gov)
    assert registry.policyOf(code.measurement_id).maxTcbStatus == 0
    assert len(tx.decode_logs(registry.MeasurementPolicySet)) == 1


def test_advisory_tolerance__toggles_and_emits(registry, gov):
    m, adv = Code.named("gov/adv").measurement_id, b"\x05" * 32
    tx = registry.setAdvisoryTolerance(m, adv, True, sender=gov)
    assert registry.isAdvisoryTolerated(m, adv)
    assert tx.decode_logs(registry.AdvisoryToleranceSet)[0].tolerated == 1
    registry.setAdvisoryTolerance(m, adv, False, sender=gov)
    assert not registry.isAdvisoryTolerated(m, adv)


def test_set_verifier__toggles_emits_and_rejects_zero(registry, gov, alice, attacker):
    tx = registry.setVerifier(alice, True, sender=gov)
    assert registry.isVerifier(alice)
    assert tx.decode_logs(registry.VerifierSet)[0].allowed == 1
    registry.setVerifier(alice, False, sender=gov)
    assert not registry.isVerifier(alice)
    with ape.reverts(registry.RegistryZeroAddress):
        registry.setVerifier(ape.utils.ZERO_ADDRESS, True, sender=gov)
    with ape.reverts(registry.AccessControlUnauthorizedAccount):
        registry.setVerifier(attacker, True, sender=attacker)


@pytest.mark.parametrize(("setter", "low", "high"), [
    ("setAttestationValidity", 3600, 90 * 86400),
    ("setMaxVerdictAge", 300, 7 * 86400),
])  # fmt: skip
def test_parameters__bounded(registry, gov, setter, low, high):
    fn = getattr(registry, setter)
    fn(low, sender=gov)
    fn(high, sender=gov)
    with ape.reverts(registry.RegistryParameterOutOfBounds):
        fn(low - 1, sender=gov)
    with ape.reverts(registry.RegistryParameterOutOfBounds):
        fn(high + 1, sender=gov)


def test_constructor__zero_addresses__revert(project, gov, staking, attestation_log):
    zero = ape.utils.ZERO_ADDRESS
    with ape.reverts(project.WorkerRegistry.RegistryZeroAddress):
        gov.deploy(project.WorkerRegistry, gov, zero, attestation_log, 86400, 86400)
    with ape.reverts(project.WorkerRegistry.RegistryZeroAddress):
        gov.deploy(project.WorkerRegistry, zero, staking, attestation_log, 86400, 86400)
