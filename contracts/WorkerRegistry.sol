// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";

import {IAttestationLog} from "./interfaces/IAttestationLog.sol";
import {IGpuVerifier} from "./interfaces/IGpuVerifier.sol";
import {IQuoteVerifier} from "./interfaces/IQuoteVerifier.sol";
import {IStaking} from "./interfaces/IStaking.sol";
import {IWorkerRegistry} from "./interfaces/IWorkerRegistry.sol";
import {WorkerBinding} from "./libraries/WorkerBinding.sol";

/// @title WorkerRegistry
/// @notice TEE workers admitted by a verified quote of an allowed measurement and bound, through
///         the quote's report_data, to this chain, this registry, their signing and encryption keys
///         and their staking pool.
/// @dev Invariants:
///      - a worker is eligible only while: registered and not invalidated; its measurement is the
///        one asked for, Allowed and unexpired; its attestation is unexpired; its TCB status is
///        within the measurement's current policy (and the job's floor); its pool is backed for
///        its worker count. All but the last are read live, so revoking a measurement or
///        tightening a policy takes effect for all its workers in O(1); the backing flag is
///        pushed by Staking whenever stake moves across the requirement (after a change of
///        minStakePerWorker it follows `Staking.syncBacking`).
///      - a worker (signing address) belongs to exactly one pool; only that pool's operator
///        (Staking.operatorOf) registers, renews, deregisters it or authorises relayers.
///      - stake never depends on worker state: this contract never moves tokens.
///      - evidence time per key only moves forward (issue 17, item 3): every worker key has an
///        evidence floor, `evidenceFloor(key)` = the newest verdict time the registry accepted for
///        the key (an admission, or the evidence that invalidated it), kept while the key is
///        registered in its record and, once the record is gone (deregistration, key rotation),
///        in `_evidenceFloor`, which nothing deletes. Every admission of a key (register, renew,
///        rotation into it) needs a verdict strictly newer than the key's floor and, on rotation,
///        than the old key's: so an invalidated key never comes back on evidence that is not
///        strictly newer than its invalidation, whatever the pool, the order or the block.
///      - only the verifier that admitted a worker (its short index is in the record), or one
///        governance ranked at least as strict (`setVerifierRank`, rank > 0), can invalidate it
///        (item 4): a verifier accepting forgeable evidence cannot invalidate another's workers.
///      - GPU (issue 20): a key has a GPU record only while it is registered (`Worker.gpu`); its
///        report's nonce committed to the key's binding. A GPU record whose attestation is
///        unexpired names a device whose holder (`_gpuHolders`) is that key: one GPU backs at
///        most one live worker. A new holder takes a device only from a holder that is not live
///        (invalidated or GPU attestation expired) and ends that holder's GPU attestation. The
///        CPU-only paths read no GPU state unless the worker has a GPU record (a bit in its slot)
///        or its measurement requires a GPU (bits in the measurement's first slot).
/// @dev Verifiers are external contracts (allow-listed by governance); the paths that call them
///      are nonReentrant so that even a faulty verifier cannot re-enter registration.
contract WorkerRegistry is IWorkerRegistry, AccessControl, ReentrancyGuardTransient {
    // ------------------------------------------------------------------ constants

    /// @notice Bounds on governance parameters.
    uint256 public constant MIN_ATTESTATION_VALIDITY = 1 hours;
    uint256 public constant MAX_ATTESTATION_VALIDITY = 90 days;
    uint256 public constant MIN_VERDICT_AGE = 5 minutes;
    uint256 public constant MAX_VERDICT_AGE = 7 days;
    /// @notice Quotes listing more advisories than this are refused (bounds the policy loop).
    uint256 public constant MAX_ADVISORIES = 32;
    /// @notice How far in the future a verdict's `verifiedAt` may be (attesters' clock drift; the
    ///         committee verifier allows the same). Bounds how far a verdict can raise a key's
    ///         evidence floor beyond now.
    uint256 public constant MAX_CLOCK_SKEW = 5 minutes;

    /// @notice The emergency guardian: may revoke a measurement, nothing else (docs/governance.md).
    bytes32 public constant GUARDIAN_ROLE = keccak256("GUARDIAN_ROLE");
    /// @notice Verifiers get a short index (from 1) so that the admitting one fits the worker slot.
    uint256 public constant MAX_VERIFIERS = type(uint8).max;

    // ------------------------------------------------------------------ state

    /// @dev Measurement policy in two slots: (teeType, status, expiresAt, maxTcbStatus,
    ///      outOfDateGrace, index, the GPU policy) and (attributesMask, attributesValue). `index`
    ///      (from 1) is the measurement's short id, so that a worker record fits one slot. The GPU
    ///      policy fills the first slot exactly, so eligibility reads it for free.
    struct Measurement {
        IQuoteVerifier.TeeType teeType;
        MeasurementStatus status;
        uint64 expiresAt;
        IQuoteVerifier.TcbStatus maxTcbStatus;
        uint32 outOfDateGrace;
        uint32 index;
        bool gpuRequired;
        uint32 minDriverVersion;
        uint64 minVbiosVersion;
        bytes16 attributesMask;
        bytes16 attributesValue;
    }

    /// @dev A worker in one slot (256 bits): eligibility costs one cold read of it. `verifiedAt`
    ///      is the time of the newest verdict accepted for the worker: its admission's, or after an
    ///      invalidation the invalidating verdict's (the key's evidence floor while registered).
    ///      `verifierIndex` names the verifier that admitted it (the only one, with those ranked at
    ///      least as strict, that may invalidate it). `gpu`: the key has a GPU record (`_gpus`).
    struct Worker {
        uint32 measurementIndex;
        uint56 poolId;
        uint64 attestedUntil;
        uint64 verifiedAt;
        IQuoteVerifier.TcbStatus tcbStatus;
        bool registered;
        bool invalidated;
        uint8 verifierIndex;
        bool gpu;
    }

    /// @dev A worker's GPU in three slots: the device, the model, and what eligibility reads
    ///      (verifiedAt, attestedUntil, driverVersion, vbiosVersion).
    struct GpuRecord {
        bytes32 deviceId;
        bytes32 model;
        uint64 verifiedAt;
        uint64 attestedUntil;
        uint32 driverVersion;
        uint64 vbiosVersion;
    }

    /// @dev A verifier's allow-list entry in one slot: allowed, its short index (from 1, assigned
    ///      when first allowed, never reused) and its strictness rank (0: invalidates only the
    ///      workers it admitted itself).
    struct VerifierEntry {
        bool allowed;
        uint8 index;
        uint8 rank;
    }

    /// @dev What a quote's report_data must bind, and the key's evidence floor the verdict must be
    ///      strictly newer than (keeps the admission path's stack small).
    struct Binding {
        address worker;
        bytes32 encryptionKey;
        uint256 poolId;
        uint64 floor;
        bool gpu;
    }

    IStaking public immutable STAKING;
    IAttestationLog public immutable ATTESTATION_LOG;

    uint256 public attestationValidity;
    uint256 public maxVerdictAge;

    mapping(address verifier => VerifierEntry) private _verifiers;
    /// @dev index → verifier; index 0 is never used.
    address[] private _verifierAddresses;
    mapping(bytes32 measurementId => Measurement) private _measurements;
    /// @dev index → measurement id; index 0 is never used (a worker's 0 means "none").
    bytes32[] private _measurementIds;
    mapping(bytes32 measurementId => mapping(bytes32 advisoryId => bool)) private _tolerated;
    mapping(address worker => Worker) private _workers;
    /// @dev Staking's backing flag per pool (backing < minStakePerWorker * workers), pushed by
    ///      Staking when it flips: eligibility reads it here instead of calling Staking.
    mapping(uint256 poolId => bool) private _underBacked;
    mapping(uint256 poolId => mapping(address relayer => bool)) private _relayers;
    /// @dev A key's evidence floor once its record is gone (deregistered or rotated away from):
    ///      never deleted, only raised. While the key is registered its record's `verifiedAt`
    ///      (≥ this) is the floor. Kept outside the record so no `delete _workers[key]` loses it.
    mapping(address worker => uint64) private _evidenceFloor;
    /// @dev The worker's GPU; non-zero only while `_workers[worker].gpu`.
    mapping(address worker => GpuRecord) private _gpus;
    /// @dev The key a GPU last backed (live or not: see `_gpuLive`).
    mapping(bytes32 deviceId => address worker) private _gpuHolders;

    // ------------------------------------------------------------------ constructor

    /// @param admin Governance (allows measurements and verifiers, sets parameters).
    /// @param staking The staking contract (pool operators and backing).
    /// @param attestationLog The log this registry appends attestations to (governance makes this contract its registry writer there).
    /// @param validity Initial attestation validity in seconds.
    /// @param verdictAge Initial maximum age of a verifier's verdict in seconds.
    constructor(address admin, IStaking staking, IAttestationLog attestationLog, uint256 validity, uint256 verdictAge) {
        if (admin == address(0) || address(staking) == address(0) || address(attestationLog) == address(0)) {
            revert RegistryZeroAddress();
        }
        STAKING = staking;
        ATTESTATION_LOG = attestationLog;
        _grantRole(DEFAULT_ADMIN_ROLE, admin);
        _measurementIds.push(bytes32(0));
        _verifierAddresses.push(address(0));
        _setAttestationValidity(validity);
        _setMaxVerdictAge(verdictAge);
    }

    // ------------------------------------------------------------------ operators

    /// @inheritdoc IWorkerRegistry
    function registerWorker(
        uint256 poolId,
        address worker,
        bytes32 encryptionKey,
        address verifier,
        bytes calldata quote,
        bytes calldata evidence
    ) external nonReentrant {
        _register(poolId, worker, encryptionKey, verifier, quote, evidence, false);
        _addToPool(poolId);
    }

    /// @inheritdoc IWorkerRegistry
    /// @dev The GPU record is written after the CPU verifier and the log were called because it is
    ///      made of the GPU verifier's answer; the function is nonReentrant and both callees are
    ///      governance-set (allow-listed verifier, immutable log).
    // slither-disable-next-line reentrancy-benign,reentrancy-no-eth
    function registerGpuWorker(
        uint256 poolId,
        address worker,
        bytes32 encryptionKey,
        address verifier,
        bytes calldata quote,
        bytes calldata evidence,
        bytes calldata gpuEvidence
    ) external nonReentrant {
        (bytes32 measurementId, uint64 until) = _register(poolId, worker, encryptionKey, verifier, quote, evidence, true);
        _attestGpu(Binding(worker, encryptionKey, poolId, 0, true), verifier, gpuEvidence, until, measurementId);
        _addToPool(poolId);
    }

    /// @inheritdoc IWorkerRegistry
    function renewWorker(
        address worker,
        address newWorker,
        bytes32 encryptionKey,
        address verifier,
        bytes calldata quote,
        bytes calldata evidence
    ) external nonReentrant {
        _renew(_renewal(worker, newWorker, encryptionKey, false), worker, verifier, quote, evidence);
    }

    /// @inheritdoc IWorkerRegistry
    /// @dev As registerGpuWorker: nonReentrant, the GPU record follows the verifiers' answers.
    // slither-disable-next-line reentrancy-benign,reentrancy-no-eth
    function renewGpuWorker(
        address worker,
        address newWorker,
        bytes32 encryptionKey,
        address verifier,
        bytes calldata quote,
        bytes calldata evidence,
        bytes calldata gpuEvidence
    ) external nonReentrant {
        Binding memory b = _renewal(worker, newWorker, encryptionKey, true);
        (bytes32 measurementId, uint64 until) = _renew(b, worker, verifier, quote, evidence);
        _attestGpu(b, verifier, gpuEvidence, until, measurementId);
    }

    /// @dev Registration's checks, verdict, record and event (before the pool counts the worker).
    function _register(
        uint256 poolId,
        address worker,
        bytes32 encryptionKey,
        address verifier,
        bytes calldata quote,
        bytes calldata evidence,
        bool gpu
    ) private returns (bytes32 measurementId, uint64 until) {
        _onlyOperator(poolId);
        if (worker == address(0)) revert RegistryZeroAddress();
        if (_workers[worker].registered) revert RegistryWorkerExists(worker);
        // A deregistered key keeps its floor: it comes back only on strictly newer evidence.
        IQuoteVerifier.VerifiedQuote memory q;
        (q, until) = _attest(Binding(worker, encryptionKey, poolId, _evidenceFloor[worker], gpu), verifier, quote, evidence);
        measurementId = q.measurementId;
        emit WorkerRegistered(worker, poolId, measurementId, encryptionKey, until, q.tcbStatus, verifier, q.quoteHash);
    }

    /// @dev A renewal's verdict, record and event.
    function _renew(Binding memory b, address worker, address verifier, bytes calldata quote, bytes calldata evidence)
        private
        returns (bytes32 measurementId, uint64 until)
    {
        IQuoteVerifier.VerifiedQuote memory q;
        (q, until) = _attest(b, verifier, quote, evidence);
        measurementId = q.measurementId;
        emit WorkerRenewed(b.worker, worker, measurementId, b.encryptionKey, until, q.tcbStatus, verifier, q.quoteHash);
    }

    /// @dev The pool counts a newly registered worker and must still be backed.
    function _addToPool(uint256 poolId) private {
        (uint256 count, bool underBacked) = STAKING.workerAdded(poolId);
        if (underBacked) revert RegistryPoolUnderBacked(poolId, count);
        // Written after the call to the immutable Staking (a core contract that calls nothing
        // back from workerAdded); the function is nonReentrant. Clears a flag left stale by a
        // lowered minimum that nobody synced.
        // slither-disable-next-line reentrancy-benign
        _underBacked[poolId] = false;
    }

    /// @inheritdoc IWorkerRegistry
    function deregisterWorker(address worker) external nonReentrant {
        Worker storage w = _workers[worker];
        if (!w.registered) revert RegistryUnknownWorker(worker);
        uint256 poolId = w.poolId;
        _onlyOperator(poolId);
        // The record goes; the key's evidence floor stays (a re-registration anywhere needs newer).
        _raiseFloor(worker, w.verifiedAt);
        if (w.gpu) _releaseGpu(worker);
        delete _workers[worker];
        emit WorkerDeregistered(worker, poolId);
        // Written after the call to the immutable Staking, which calls nothing back from
        // workerRemoved; the function is nonReentrant.
        // slither-disable-next-line reentrancy-benign
        _underBacked[poolId] = STAKING.workerRemoved(poolId);
    }

    /// @notice Staking reports that the pool's backing flag flipped; stored for eligibility checks.
    /// @dev Only stores: it can neither revert for Staking nor call anything, so a withdrawal or a
    ///      slash that flips the flag cannot be blocked through it.
    function poolBackingChanged(uint256 poolId, bool underBacked) external {
        if (msg.sender != address(STAKING)) revert RegistryNotStaking(msg.sender);
        _underBacked[poolId] = underBacked;
    }

    /// @inheritdoc IWorkerRegistry
    function setRelayer(uint256 poolId, address relayer, bool authorised) external {
        _onlyOperator(poolId);
        if (relayer == address(0)) revert RegistryZeroAddress();
        _relayers[poolId][relayer] = authorised;
        emit RelayerAuthorised(poolId, relayer, authorised);
    }

    // ------------------------------------------------------------------ anyone

    /// @inheritdoc IWorkerRegistry
    /// @dev What is written depends on the verifier's answer, so it follows the call. The verifier
    ///      is governance-allow-listed and every mutating entry point is nonReentrant; only views
    ///      could observe the intermediate state.
    // slither-disable-next-line reentrancy-no-eth
    function invalidateWorker(
        address worker,
        bytes32 encryptionKey,
        address verifier,
        bytes calldata quote,
        bytes calldata evidence
    ) external nonReentrant {
        Worker storage w = _workers[worker];
        if (!w.registered || w.invalidated) revert RegistryUnknownWorker(worker);
        // Only the admitting verifier, or one governance ranked at least as strict, may speak
        // against the worker: never a verifier whose evidence is forgeable for it.
        _checkInvalidator(verifier, w.verifierIndex);
        (IQuoteVerifier.VerifiedQuote memory q,) = _verified(verifier, quote, evidence);
        // The quote must come from this worker's enclave: only it can bind its signing key.
        _checkBinding(q, WorkerBinding.binding(block.chainid, address(this), worker, encryptionKey, w.poolId));
        if (q.verifiedAt <= w.verifiedAt) revert RegistryEvidenceNotNewer(q.verifiedAt, w.verifiedAt);
        Measurement storage m = _measurements[q.measurementId];
        if (m.index == w.measurementIndex && _meetsPolicy(q, m)) {
            revert RegistryWorkerStillValid(worker);
        }
        w.invalidated = true;
        w.tcbStatus = q.tcbStatus;
        // The invalidating verdict becomes the key's evidence floor: nothing older or as old can
        // renew it, and deregistration or rotation carries it into _evidenceFloor.
        w.verifiedAt = q.verifiedAt;
        emit WorkerInvalidated(worker, msg.sender, q.tcbStatus, q.quoteHash);
    }

    // ------------------------------------------------------------------ governance

    /// @inheritdoc IWorkerRegistry
    function setVerifier(address verifier, bool allowed) external onlyRole(DEFAULT_ADMIN_ROLE) {
        if (verifier == address(0)) revert RegistryZeroAddress();
        VerifierEntry storage v = _verifiers[verifier];
        if (allowed && v.index == 0) {
            uint256 index = _verifierAddresses.length;
            if (index > MAX_VERIFIERS) revert RegistryTooManyVerifiers(MAX_VERIFIERS);
            v.index = uint8(index);
            _verifierAddresses.push(verifier);
        }
        v.allowed = allowed;
        emit VerifierSet(verifier, allowed);
    }

    /// @inheritdoc IWorkerRegistry
    function setVerifierRank(address verifier, uint8 rank) external onlyRole(DEFAULT_ADMIN_ROLE) {
        if (verifier == address(0)) revert RegistryZeroAddress();
        _verifiers[verifier].rank = rank;
        emit VerifierRankSet(verifier, rank);
    }

    /// @inheritdoc IWorkerRegistry
    function allowMeasurement(bytes32 measurementId, Policy calldata policy, BuildInfo calldata build)
        external
        onlyRole(DEFAULT_ADMIN_ROLE)
    {
        _storePolicy(measurementId, policy);
        _measurements[measurementId].status = MeasurementStatus.Allowed;
        emit MeasurementAllowed(measurementId, policy, build);
    }

    /// @inheritdoc IWorkerRegistry
    function setPolicy(bytes32 measurementId, Policy calldata policy) external onlyRole(DEFAULT_ADMIN_ROLE) {
        MeasurementStatus status = _measurements[measurementId].status;
        if (status != MeasurementStatus.Allowed) revert RegistryMeasurementNotAllowed(measurementId, status);
        _storePolicy(measurementId, policy);
        emit MeasurementPolicySet(measurementId, policy);
    }

    /// @inheritdoc IWorkerRegistry
    function setGpuPolicy(bytes32 measurementId, GpuPolicy calldata policy) external onlyRole(DEFAULT_ADMIN_ROLE) {
        Measurement storage m = _measurements[measurementId];
        if (m.status != MeasurementStatus.Allowed) revert RegistryMeasurementNotAllowed(measurementId, m.status);
        m.gpuRequired = policy.required;
        m.minDriverVersion = policy.minDriverVersion;
        m.minVbiosVersion = policy.minVbiosVersion;
        emit MeasurementGpuPolicySet(measurementId, policy);
    }

    /// @inheritdoc IWorkerRegistry
    function setAdvisoryTolerance(bytes32 measurementId, bytes32 advisoryId, bool tolerated)
        external
        onlyRole(DEFAULT_ADMIN_ROLE)
    {
        _tolerated[measurementId][advisoryId] = tolerated;
        emit AdvisoryToleranceSet(measurementId, advisoryId, tolerated);
    }

    /// @inheritdoc IWorkerRegistry
    function revokeMeasurement(bytes32 measurementId) external {
        if (!hasRole(GUARDIAN_ROLE, msg.sender)) _checkRole(DEFAULT_ADMIN_ROLE);
        MeasurementStatus status = _measurements[measurementId].status;
        if (status != MeasurementStatus.Allowed) revert RegistryMeasurementNotAllowed(measurementId, status);
        _measurements[measurementId].status = MeasurementStatus.Revoked;
        emit MeasurementRevoked(measurementId);
    }

    /// @inheritdoc IWorkerRegistry
    function setAttestationValidity(uint256 validity) external onlyRole(DEFAULT_ADMIN_ROLE) {
        _setAttestationValidity(validity);
    }

    /// @inheritdoc IWorkerRegistry
    function setMaxVerdictAge(uint256 maxAge) external onlyRole(DEFAULT_ADMIN_ROLE) {
        _setMaxVerdictAge(maxAge);
    }

    // ------------------------------------------------------------------ views

    /// @inheritdoc IWorkerRegistry
    function isEligible(address worker, bytes32 measurementId) external view returns (bool) {
        (Reason reason,) = _check(worker, measurementId, IQuoteVerifier.TcbStatus.Revoked, address(0));
        return reason == Reason.Eligible;
    }

    /// @inheritdoc IWorkerRegistry
    function isEligible(address worker, bytes32 measurementId, IQuoteVerifier.TcbStatus maxTcbStatus)
        external
        view
        returns (bool)
    {
        (Reason reason,) = _check(worker, measurementId, maxTcbStatus, address(0));
        return reason == Reason.Eligible;
    }

    /// @inheritdoc IWorkerRegistry
    function check(address worker, bytes32 measurementId, IQuoteVerifier.TcbStatus maxTcbStatus, address relayer)
        external
        view
        returns (Reason reason, uint256 poolId)
    {
        return _check(worker, measurementId, maxTcbStatus, relayer);
    }

    /// @inheritdoc IWorkerRegistry
    /// @dev Two cold slots (the measurement's first, the worker's): no more than the question needs.
    function stoppedByGovernance(address worker, bytes32 measurementId, uint256 by) external view returns (bool) {
        Measurement storage m = _measurements[measurementId];
        if (m.status != MeasurementStatus.Allowed) return true;
        if (m.expiresAt != 0 && m.expiresAt <= by) return true;
        Worker storage w = _workers[worker];
        if (!w.registered || w.invalidated || w.measurementIndex != m.index) return false;
        if (_belowPolicy(w.tcbStatus, m)) return true;
        // A GPU requirement or version floor governance set is governance's doing too; an expired
        // GPU attestation is not (the pool renews it, as the CPU attestation).
        return m.gpuRequired && (!w.gpu || _gpuBelowPolicy(_gpus[worker], m));
    }

    /// @inheritdoc IWorkerRegistry
    function explain(address worker, bytes32 measurementId) external view returns (bool eligible, string memory reason) {
        (Reason r,) = _check(worker, measurementId, IQuoteVerifier.TcbStatus.Revoked, address(0));
        return (r == Reason.Eligible, _reasonText(r));
    }

    /// @inheritdoc IWorkerRegistry
    function workerInfo(address worker) external view returns (WorkerInfo memory) {
        Worker storage w = _workers[worker];
        return WorkerInfo({
            measurementId: _measurementIds[w.measurementIndex],
            poolId: w.poolId,
            attestedUntil: w.attestedUntil,
            verifiedAt: w.verifiedAt,
            tcbStatus: w.tcbStatus,
            registered: w.registered,
            invalidated: w.invalidated
        });
    }

    /// @inheritdoc IWorkerRegistry
    function measurementStatus(bytes32 measurementId) external view returns (MeasurementStatus) {
        return _measurements[measurementId].status;
    }

    /// @inheritdoc IWorkerRegistry
    function policyOf(bytes32 measurementId) external view returns (Policy memory) {
        Measurement storage m = _measurements[measurementId];
        return Policy({
            teeType: m.teeType,
            expiresAt: m.expiresAt,
            maxTcbStatus: m.maxTcbStatus,
            outOfDateGrace: m.outOfDateGrace,
            attributesMask: m.attributesMask,
            attributesValue: m.attributesValue
        });
    }

    /// @inheritdoc IWorkerRegistry
    function gpuPolicyOf(bytes32 measurementId) external view returns (GpuPolicy memory) {
        Measurement storage m = _measurements[measurementId];
        return GpuPolicy({required: m.gpuRequired, minDriverVersion: m.minDriverVersion, minVbiosVersion: m.minVbiosVersion});
    }

    /// @inheritdoc IWorkerRegistry
    function gpuInfo(address worker) external view returns (GpuInfo memory) {
        GpuRecord storage r = _gpus[worker];
        return GpuInfo({
            deviceId: r.deviceId,
            model: r.model,
            driverVersion: r.driverVersion,
            vbiosVersion: r.vbiosVersion,
            verifiedAt: r.verifiedAt,
            attestedUntil: r.attestedUntil
        });
    }

    /// @inheritdoc IWorkerRegistry
    function gpuWorker(bytes32 deviceId) external view returns (address) {
        address holder = _gpuHolders[deviceId];
        return holder != address(0) && _gpuLive(holder) ? holder : address(0);
    }

    /// @inheritdoc IWorkerRegistry
    function isAdvisoryTolerated(bytes32 measurementId, bytes32 advisoryId) external view returns (bool) {
        return _tolerated[measurementId][advisoryId];
    }

    /// @inheritdoc IWorkerRegistry
    function isRelayer(uint256 poolId, address relayer) external view returns (bool) {
        return _relayers[poolId][relayer];
    }

    /// @notice The backing flag as last reported by Staking for the pool.
    function isPoolUnderBacked(uint256 poolId) external view returns (bool) {
        return _underBacked[poolId];
    }

    /// @inheritdoc IWorkerRegistry
    function workerCount(uint256 poolId) external view returns (uint256) {
        return STAKING.workersOf(poolId);
    }

    /// @inheritdoc IWorkerRegistry
    function isVerifier(address verifier) external view returns (bool) {
        return _verifiers[verifier].allowed;
    }

    /// @inheritdoc IWorkerRegistry
    function verifierRank(address verifier) external view returns (uint8) {
        return _verifiers[verifier].rank;
    }

    /// @inheritdoc IWorkerRegistry
    function workerVerifier(address worker) external view returns (address) {
        return _verifierAddresses[_workers[worker].verifierIndex];
    }

    /// @inheritdoc IWorkerRegistry
    function evidenceFloor(address worker) external view returns (uint64) {
        uint64 kept = _evidenceFloor[worker];
        Worker storage w = _workers[worker];
        return w.registered && w.verifiedAt > kept ? w.verifiedAt : kept;
    }

    // ------------------------------------------------------------------ internal

    function _onlyOperator(uint256 poolId) private view {
        if (STAKING.operatorOf(poolId) != msg.sender) revert RegistryNotPoolOperator(poolId, msg.sender);
    }

    /// @dev A renewal's checks and key rotation, before the verdict: returns what the quote must
    ///      bind and the floor its verdict must be strictly newer than. A renewal keeps the key's GPU
    ///      record (and its own expiry) unless it rotates the key: the GPU report's nonce bound the
    ///      old key, so the record goes with it. `gpu`: the renewal brings GPU evidence.
    function _renewal(address worker, address newWorker, bytes32 encryptionKey, bool gpu)
        private
        returns (Binding memory)
    {
        Worker storage current = _workers[worker];
        if (!current.registered) revert RegistryUnknownWorker(worker);
        uint256 poolId = current.poolId;
        _onlyOperator(poolId);
        if (newWorker == address(0)) revert RegistryZeroAddress();
        // The key's floor while registered is its record's verifiedAt (the newest verdict accepted
        // for it, the invalidating one included): a renewal must be strictly newer.
        uint64 floor = current.verifiedAt;
        bool hasGpu = current.gpu;
        if (newWorker != worker) {
            if (_workers[newWorker].registered) revert RegistryWorkerExists(newWorker);
            // The new key inherits the old key's floor (and keeps its own, if it had one); the
            // old key keeps its floor after its record is deleted.
            uint64 newKeyFloor = _evidenceFloor[newWorker];
            if (newKeyFloor > floor) floor = newKeyFloor;
            _raiseFloor(worker, current.verifiedAt);
            if (hasGpu) _releaseGpu(worker);
            hasGpu = false;
            delete _workers[worker];
        }
        return Binding(newWorker, encryptionKey, poolId, floor, gpu || hasGpu);
    }

    /// @dev Verify a quote through an allow-listed verifier and check the verdict is usable now
    ///      (unexpired, not stale, not dated beyond the clock skew). Returns the verifier's index.
    function _verified(address verifier, bytes calldata quote, bytes calldata evidence)
        private
        returns (IQuoteVerifier.VerifiedQuote memory q, uint8 index)
    {
        VerifierEntry storage v = _verifiers[verifier];
        if (!v.allowed) revert RegistryVerifierNotAllowed(verifier);
        index = v.index;
        q = IQuoteVerifier(verifier).verify(quote, evidence);
        _checkFresh(q.verifiedAt, q.expiresAt);
    }

    /// @dev A verdict is usable now: unexpired, not stale, not dated beyond the clock skew.
    function _checkFresh(uint64 verifiedAt, uint64 expiresAt) private view {
        if (block.timestamp >= expiresAt) revert RegistryVerdictExpired(expiresAt);
        if (verifiedAt + maxVerdictAge < block.timestamp) revert RegistryVerdictStale(verifiedAt, maxVerdictAge);
        if (verifiedAt > block.timestamp + MAX_CLOCK_SKEW) revert RegistryVerdictFromFuture(verifiedAt, MAX_CLOCK_SKEW);
    }

    /// @dev The GPU half of a GPU registration or renewal, after the worker's record is written:
    ///      GPU evidence through the same (allow-listed) verifier, its nonce committing to the
    ///      worker's binding, fresh, within the measurement's GPU policy, strictly newer than the
    ///      key's current GPU record, and a GPU that backs no other live worker. The GPU attestation
    ///      ends with the CPU attestation (`until`) or the GPU verdict, whichever is first.
    // Only reached from nonReentrant entry points; the record is made of the verifier's answer.
    // slither-disable-next-line reentrancy-benign,reentrancy-events
    function _attestGpu(Binding memory b, address verifier, bytes calldata gpuEvidence, uint64 until, bytes32 measurementId)
        private
    {
        IGpuVerifier.VerifiedGpu memory g = IGpuVerifier(verifier).verifyGpu(gpuEvidence);
        bytes32 expected =
            WorkerBinding.gpuNonce(WorkerBinding.binding(block.chainid, address(this), b.worker, b.encryptionKey, b.poolId));
        if (g.nonce != expected) revert RegistryGpuNonceMismatch(expected, g.nonce);
        _checkFresh(g.verifiedAt, g.expiresAt);
        Measurement storage m = _measurements[measurementId];
        if (g.driverVersion < m.minDriverVersion || g.vbiosVersion < m.minVbiosVersion) {
            revert RegistryGpuBelowPolicy(g.driverVersion, g.vbiosVersion);
        }
        GpuRecord storage r = _gpus[b.worker];
        if (g.verifiedAt <= r.verifiedAt) revert RegistryGpuEvidenceNotNewer(g.verifiedAt, r.verifiedAt);
        address holder = _gpuHolders[g.deviceId];
        if (holder != b.worker) {
            if (holder != address(0)) {
                if (_gpuLive(holder)) revert RegistryGpuInUse(g.deviceId, holder);
                // The former holder is not live: it loses the GPU for good (fresh GPU evidence
                // for it is refused while this worker is live).
                _gpus[holder].attestedUntil = 0;
            }
            _gpuHolders[g.deviceId] = b.worker;
        }
        bytes32 previous = r.deviceId;
        if (previous != bytes32(0) && previous != g.deviceId && _gpuHolders[previous] == b.worker) {
            delete _gpuHolders[previous];
        }
        if (g.expiresAt < until) until = g.expiresAt;
        r.deviceId = g.deviceId;
        r.model = g.model;
        r.verifiedAt = g.verifiedAt;
        r.attestedUntil = until;
        r.driverVersion = g.driverVersion;
        r.vbiosVersion = g.vbiosVersion;
        emit WorkerGpuAttested(b.worker, g.deviceId, g.model, g.driverVersion, g.vbiosVersion, g.verifiedAt, until);
    }

    /// @dev Whether a GPU's holder still counts as backed by it: registered, not invalidated, its
    ///      GPU attestation unexpired.
    function _gpuLive(address holder) private view returns (bool) {
        Worker storage w = _workers[holder];
        return w.registered && !w.invalidated && block.timestamp < _gpus[holder].attestedUntil;
    }

    /// @dev Drop a key's GPU record and free its device (if the key still holds it).
    function _releaseGpu(address worker) private {
        bytes32 deviceId = _gpus[worker].deviceId;
        if (_gpuHolders[deviceId] == worker) delete _gpuHolders[deviceId];
        delete _gpus[worker];
        emit WorkerGpuReleased(worker, deviceId);
    }

    function _gpuBelowPolicy(GpuRecord storage r, Measurement storage m) private view returns (bool) {
        return r.driverVersion < m.minDriverVersion || r.vbiosVersion < m.minVbiosVersion;
    }

    /// @dev Invalidation through `verifier` of a worker admitted by the verifier at `admittedBy`:
    ///      the same verifier, or an allowed one ranked (> 0) at least as high. Allowance itself
    ///      is checked by `_verified`.
    function _checkInvalidator(address verifier, uint8 admittedBy) private view {
        address admitter = _verifierAddresses[admittedBy];
        if (verifier == admitter) return;
        uint8 rank = _verifiers[verifier].rank;
        if (rank == 0 || rank < _verifiers[admitter].rank) revert RegistryInvalidatorNotAccepted(verifier, admitter);
    }

    /// @dev Raise a key's kept evidence floor to `t` (never lowers it).
    function _raiseFloor(address worker, uint64 t) private {
        if (t > _evidenceFloor[worker]) _evidenceFloor[worker] = t;
    }

    /// @dev Everything registration and renewal require of a quote (verified, bound to this
    ///      worker's keys and pool, measurement allowed, policy met), then the worker's record and
    ///      its log entry. Returns the verdict and the end of the attestation.
    // Only reached from nonReentrant entry points; the record is written after the verifier's
    // answer because it is made of that answer.
    // slither-disable-next-line reentrancy-benign,reentrancy-events
    function _attest(Binding memory b, address verifier, bytes calldata quote, bytes calldata evidence)
        private
        returns (IQuoteVerifier.VerifiedQuote memory q, uint64 until)
    {
        uint8 verifierIndex;
        (q, verifierIndex) = _verified(verifier, quote, evidence);
        bytes32 bound = WorkerBinding.binding(block.chainid, address(this), b.worker, b.encryptionKey, b.poolId);
        _checkBinding(q, bound);
        // Evidence time per key never goes backwards, nor stays: strictly newer than the floor.
        if (q.verifiedAt <= b.floor) revert RegistryEvidenceNotNewer(q.verifiedAt, b.floor);
        until = _admissionEnd(q, b.gpu);
        _workers[b.worker] = Worker({
            measurementIndex: _measurements[q.measurementId].index,
            poolId: uint56(b.poolId),
            attestedUntil: until,
            verifiedAt: q.verifiedAt,
            tcbStatus: q.tcbStatus,
            registered: true,
            invalidated: false,
            verifierIndex: verifierIndex,
            gpu: b.gpu
        });
        // The entry's index is not needed here: the event carries it.
        // slither-disable-next-line unused-return
        ATTESTATION_LOG.append(
            IAttestationLog.Entry({
                kind: IAttestationLog.Kind.WorkerAttested,
                subject: q.quoteHash,
                worker: b.worker,
                measurement: q.measurementId,
                dataHash: bound
            })
        );
    }

    /// @dev The measurement's policy applied to a verdict; returns when the attestation ends
    ///      (the registry's validity, the verdict's expiry, or an OutOfDate grace window). A
    ///      measurement that requires a GPU admits only a worker with GPU evidence (`gpu`).
    function _admissionEnd(IQuoteVerifier.VerifiedQuote memory q, bool gpu) private view returns (uint64 until) {
        Measurement storage m = _measurements[q.measurementId];
        if (m.status != MeasurementStatus.Allowed) revert RegistryMeasurementNotAllowed(q.measurementId, m.status);
        if (m.gpuRequired && !gpu) revert RegistryGpuRequired(q.measurementId);
        if (m.expiresAt != 0 && block.timestamp >= m.expiresAt) {
            revert RegistryMeasurementExpired(q.measurementId, m.expiresAt);
        }
        if (q.teeType != m.teeType) revert RegistryTeeTypeMismatch(q.measurementId, m.teeType, q.teeType);
        if ((q.attributes & m.attributesMask) != m.attributesValue) {
            revert RegistryAttributesRejected(q.attributes, m.attributesMask, m.attributesValue);
        }
        _checkAdvisories(q);
        until = uint64(block.timestamp + attestationValidity);
        if (q.expiresAt < until) until = q.expiresAt;
        if (!_tcbAccepted(q.tcbStatus, m.maxTcbStatus)) {
            // Only an OutOfDate platform inside the grace window gets through, and its
            // attestation ends with the window.
            uint64 graceEnd = q.tcbDate + m.outOfDateGrace;
            if (!_isOutOfDate(q.tcbStatus) || m.outOfDateGrace == 0 || block.timestamp >= graceEnd) {
                revert RegistryTcbNotAccepted(q.tcbStatus, m.maxTcbStatus);
            }
            if (graceEnd < until) until = graceEnd;
        }
    }

    function _checkBinding(IQuoteVerifier.VerifiedQuote memory q, bytes32 expected) private pure {
        if (!WorkerBinding.matches(q.reportData, expected)) {
            revert RegistryBindingMismatch(expected, q.reportData[0], q.reportData[1]);
        }
    }

    function _checkAdvisories(IQuoteVerifier.VerifiedQuote memory q) private view {
        uint256 n = q.advisoryIds.length;
        if (n > MAX_ADVISORIES) revert RegistryTooManyAdvisories(n, MAX_ADVISORIES);
        mapping(bytes32 => bool) storage tolerated = _tolerated[q.measurementId];
        for (uint256 i = 0; i < n; ++i) {
            if (!tolerated[q.advisoryIds[i]]) revert RegistryAdvisoryNotTolerated(q.advisoryIds[i]);
        }
    }

    /// @dev Whether a (fresh) verdict satisfies a measurement's current policy, without reverting.
    function _meetsPolicy(IQuoteVerifier.VerifiedQuote memory q, Measurement storage m) private view returns (bool) {
        if ((q.attributes & m.attributesMask) != m.attributesValue) return false;
        uint256 n = q.advisoryIds.length;
        if (n > MAX_ADVISORIES) return false;
        for (uint256 i = 0; i < n; ++i) {
            if (!_tolerated[q.measurementId][q.advisoryIds[i]]) return false;
        }
        if (_tcbAccepted(q.tcbStatus, m.maxTcbStatus)) return true;
        return _isOutOfDate(q.tcbStatus) && m.outOfDateGrace != 0
            && block.timestamp < uint256(q.tcbDate) + m.outOfDateGrace;
    }

    /// @dev The eligibility checks, cheapest first; reads the worker's slot, the measurement's
    ///      first slot, the worker's GPU slot (only when the measurement requires a GPU), the
    ///      relayer's authorisation (when asked) and the pool's backing flag: no external call.
    function _check(address worker, bytes32 measurementId, IQuoteVerifier.TcbStatus jobMax, address relayer)
        private
        view
        returns (Reason, uint256)
    {
        Worker storage w = _workers[worker];
        uint256 poolId = w.poolId;
        if (!w.registered) return (Reason.NotRegistered, poolId);
        if (w.invalidated) return (Reason.Invalidated, poolId);
        Measurement storage m = _measurements[measurementId];
        if (m.index == 0 || w.measurementIndex != m.index) return (Reason.MeasurementMismatch, poolId);
        if (m.status != MeasurementStatus.Allowed) return (Reason.MeasurementNotAllowed, poolId);
        if (m.expiresAt != 0 && block.timestamp >= m.expiresAt) return (Reason.MeasurementExpired, poolId);
        if (block.timestamp >= w.attestedUntil) return (Reason.AttestationExpired, poolId);
        IQuoteVerifier.TcbStatus status = w.tcbStatus;
        if (_belowPolicy(status, m)) return (Reason.TcbBelowPolicy, poolId);
        if (!_tcbAccepted(status, jobMax)) return (Reason.TcbBelowJobFloor, poolId);
        if (m.gpuRequired) {
            if (!w.gpu) return (Reason.GpuMissing, poolId);
            GpuRecord storage r = _gpus[worker];
            if (block.timestamp >= r.attestedUntil) return (Reason.GpuAttestationExpired, poolId);
            if (_gpuBelowPolicy(r, m)) return (Reason.GpuBelowPolicy, poolId);
        }
        if (relayer != address(0) && !_relayers[poolId][relayer]) return (Reason.RelayerNotAuthorised, poolId);
        if (_underBacked[poolId]) return (Reason.PoolUnderBacked, poolId);
        return (Reason.Eligible, poolId);
    }

    /// @dev An admitted worker's TCB level that the measurement's current policy refuses. An
    ///      OutOfDate platform admitted inside its grace window stays accepted until the window
    ///      closes (attestedUntil was capped to it) unless governance removed the grace since.
    function _belowPolicy(IQuoteVerifier.TcbStatus status, Measurement storage m) private view returns (bool) {
        return !_tcbAccepted(status, m.maxTcbStatus) && !(_isOutOfDate(status) && m.outOfDateGrace != 0);
    }

    function _tcbAccepted(IQuoteVerifier.TcbStatus status, IQuoteVerifier.TcbStatus maxAccepted)
        private
        pure
        returns (bool)
    {
        return uint8(status) <= uint8(maxAccepted);
    }

    function _isOutOfDate(IQuoteVerifier.TcbStatus status) private pure returns (bool) {
        return status == IQuoteVerifier.TcbStatus.OutOfDate
            || status == IQuoteVerifier.TcbStatus.OutOfDateConfigurationNeeded;
    }

    function _storePolicy(bytes32 measurementId, Policy calldata policy) private {
        if (policy.teeType == IQuoteVerifier.TeeType.None) {
            revert RegistryTeeTypeMismatch(measurementId, IQuoteVerifier.TeeType.SGX, policy.teeType);
        }
        Measurement storage m = _measurements[measurementId];
        if (m.index == 0) {
            m.index = uint32(_measurementIds.length);
            _measurementIds.push(measurementId);
        }
        m.teeType = policy.teeType;
        m.expiresAt = policy.expiresAt;
        m.maxTcbStatus = policy.maxTcbStatus;
        m.outOfDateGrace = policy.outOfDateGrace;
        m.attributesMask = policy.attributesMask;
        m.attributesValue = policy.attributesValue;
    }

    function _setAttestationValidity(uint256 validity) private {
        if (validity < MIN_ATTESTATION_VALIDITY || validity > MAX_ATTESTATION_VALIDITY) {
            revert RegistryParameterOutOfBounds(validity, MIN_ATTESTATION_VALIDITY, MAX_ATTESTATION_VALIDITY);
        }
        attestationValidity = validity;
        emit AttestationValiditySet(validity);
    }

    function _setMaxVerdictAge(uint256 maxAge) private {
        if (maxAge < MIN_VERDICT_AGE || maxAge > MAX_VERDICT_AGE) {
            revert RegistryParameterOutOfBounds(maxAge, MIN_VERDICT_AGE, MAX_VERDICT_AGE);
        }
        maxVerdictAge = maxAge;
        emit MaxVerdictAgeSet(maxAge);
    }

    function _reasonText(Reason r) private pure returns (string memory) {
        if (r == Reason.Eligible) return "eligible";
        if (r == Reason.NotRegistered) return "worker is not registered";
        if (r == Reason.Invalidated) return "worker was invalidated by newer verifier evidence";
        if (r == Reason.MeasurementMismatch) return "worker runs another measurement";
        if (r == Reason.MeasurementNotAllowed) return "measurement is not allowed (unknown or revoked)";
        if (r == Reason.MeasurementExpired) return "measurement has expired";
        if (r == Reason.AttestationExpired) return "attestation has expired: renew with a fresh quote";
        if (r == Reason.TcbBelowPolicy) return "TCB status is below the measurement's policy";
        if (r == Reason.TcbBelowJobFloor) return "TCB status is below the job's floor";
        if (r == Reason.PoolUnderBacked) return "pool stake is below the minimum for its workers";
        if (r == Reason.GpuMissing) return "measurement requires a GPU: worker has no GPU evidence";
        if (r == Reason.GpuAttestationExpired) return "GPU attestation has expired: renew with fresh GPU evidence";
        if (r == Reason.GpuBelowPolicy) return "GPU driver or VBIOS version is below the measurement's GPU policy";
        return "relayer is not authorised by the worker's pool";
    }
}
