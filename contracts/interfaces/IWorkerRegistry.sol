// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {IGpuVerifier} from "./IGpuVerifier.sol";
import {IPoolBackingObserver} from "./IPoolBackingObserver.sol";
import {IQuoteVerifier} from "./IQuoteVerifier.sol";

/// @title IWorkerRegistry
/// @notice TEE workers keyed by their signing address, admitted by a verified quote of an
///         allowed enclave measurement, bound to this chain, this registry, their keys and their
///         staking pool. The job escrow asks it whether a worker may be paid.
interface IWorkerRegistry is IPoolBackingObserver {
    // ------------------------------------------------------------------ types

    /// @notice Lifecycle of a measurement id in the allow-list.
    enum MeasurementStatus {
        Unknown,
        Allowed,
        Revoked
    }

    /// @notice Why a worker is or is not eligible (the first failing check, in this order).
    enum Reason {
        Eligible,
        NotRegistered,
        Invalidated,
        MeasurementMismatch,
        MeasurementNotAllowed,
        MeasurementExpired,
        AttestationExpired,
        TcbBelowPolicy,
        TcbBelowJobFloor,
        PoolUnderBacked,
        RelayerNotAuthorised,
        GpuMissing,
        GpuAttestationExpired,
        GpuBelowPolicy
    }

    /// @notice Governance's GPU policy for one measurement (set apart from `Policy`, so that a
    ///         CPU-only measurement's policy and its callers are unchanged).
    /// @param required Workers of this measurement need live GPU evidence to be admitted and paid.
    /// @param minDriverVersion The lowest driver version accepted (IGpuVerifier encoding; 0: any).
    /// @param minVbiosVersion The lowest VBIOS version accepted (IGpuVerifier encoding; 0: any).
    struct GpuPolicy {
        bool required;
        uint32 minDriverVersion;
        uint64 minVbiosVersion;
    }

    /// @notice A worker's GPU as the registry recorded it (all zero: none).
    /// @param attestedUntil End of the GPU attestation: at most the CPU attestation's end at the
    ///        same admission, and the GPU verdict's expiry.
    struct GpuInfo {
        bytes32 deviceId;
        bytes32 model;
        uint32 driverVersion;
        uint64 vbiosVersion;
        uint64 verifiedAt;
        uint64 attestedUntil;
    }

    /// @notice Governance's policy for one measurement.
    /// @param teeType The TEE the measurement belongs to; quotes of another type are refused.
    /// @param expiresAt Unix time after which the measurement no longer admits or keeps workers (0: never).
    /// @param maxTcbStatus The worst TCB status accepted (IQuoteVerifier.TcbStatus is ordered best → worst).
    /// @param outOfDateGrace Seconds an OutOfDate platform stays acceptable after the TCB level that
    ///        superseded it was published (the verifier's `tcbDate`); 0: no grace.
    /// @param attributesMask Attribute bits that must equal `attributesValue` (IQuoteVerifier.attributes).
    struct Policy {
        IQuoteVerifier.TeeType teeType;
        uint64 expiresAt;
        IQuoteVerifier.TcbStatus maxTcbStatus;
        uint32 outOfDateGrace;
        bytes16 attributesMask;
        bytes16 attributesValue;
    }

    /// @notice Reproducible-build metadata, recorded in events for auditors.
    struct BuildInfo {
        string label;
        bytes20 sourceCommit;
        bytes32 imageDigest;
    }

    /// @notice A worker as the escrow and people see it.
    struct WorkerInfo {
        bytes32 measurementId;
        uint64 poolId;
        uint64 attestedUntil;
        uint64 verifiedAt;
        IQuoteVerifier.TcbStatus tcbStatus;
        bool registered;
        bool invalidated;
    }

    // ------------------------------------------------------------------ errors

    error RegistryZeroAddress();
    error RegistryParameterOutOfBounds(uint256 value, uint256 minimum, uint256 maximum);
    error RegistryVerifierNotAllowed(address verifier);
    error RegistryMeasurementNotAllowed(bytes32 measurementId, MeasurementStatus status);
    error RegistryMeasurementExpired(bytes32 measurementId, uint64 expiresAt);
    error RegistryTeeTypeMismatch(bytes32 measurementId, IQuoteVerifier.TeeType expected, IQuoteVerifier.TeeType actual);
    error RegistryVerdictExpired(uint64 expiresAt);
    error RegistryVerdictStale(uint64 verifiedAt, uint256 maxAge);
    error RegistryTcbNotAccepted(IQuoteVerifier.TcbStatus status, IQuoteVerifier.TcbStatus maxAccepted);
    error RegistryAdvisoryNotTolerated(bytes32 advisoryId);
    error RegistryTooManyAdvisories(uint256 count, uint256 maximum);
    error RegistryAttributesRejected(bytes16 attributes, bytes16 mask, bytes16 expected);
    error RegistryBindingMismatch(bytes32 expected, bytes32 actualLow, bytes32 actualHigh);
    error RegistryNotPoolOperator(uint256 poolId, address caller);
    error RegistryWorkerExists(address worker);
    error RegistryUnknownWorker(address worker);
    error RegistryPoolUnderBacked(uint256 poolId, uint256 workers);
    /// @notice Only Staking reports pool backing changes.
    error RegistryNotStaking(address caller);
    error RegistryWorkerStillValid(address worker);
    /// @notice The verdict is not strictly newer than the key's evidence floor (the newest verdict
    ///         accepted for it: admission, renewal or invalidation; kept across deregistration).
    error RegistryEvidenceNotNewer(uint64 evidenceVerifiedAt, uint64 floor);
    /// @notice The verdict's verifiedAt is more than MAX_CLOCK_SKEW ahead of the chain's clock.
    error RegistryVerdictFromFuture(uint64 verifiedAt, uint256 maxSkew);
    /// @notice Invalidation through a verifier that neither admitted the worker nor is ranked at
    ///         least as strict as the one that did.
    error RegistryInvalidatorNotAccepted(address verifier, address admittedBy);
    /// @notice No short index left for another verifier.
    error RegistryTooManyVerifiers(uint256 maximum);
    /// @notice The measurement requires a GPU: register or renew with GPU evidence.
    error RegistryGpuRequired(bytes32 measurementId);
    /// @notice The GPU report's nonce does not commit to this worker's binding.
    error RegistryGpuNonceMismatch(bytes32 expected, bytes32 actual);
    /// @notice The GPU already backs another live worker (one GPU, one worker).
    error RegistryGpuInUse(bytes32 deviceId, address worker);
    /// @notice The GPU's driver or VBIOS version is below the measurement's GPU policy.
    error RegistryGpuBelowPolicy(uint32 driverVersion, uint64 vbiosVersion);
    /// @notice The GPU verdict is not strictly newer than the key's current GPU record.
    error RegistryGpuEvidenceNotNewer(uint64 verifiedAt, uint64 floor);

    // ------------------------------------------------------------------ events

    event VerifierSet(address indexed verifier, bool allowed);
    event VerifierRankSet(address indexed verifier, uint8 rank);
    event MeasurementAllowed(bytes32 indexed measurementId, Policy policy, BuildInfo build);
    event MeasurementPolicySet(bytes32 indexed measurementId, Policy policy);
    event MeasurementRevoked(bytes32 indexed measurementId);
    event AdvisoryToleranceSet(bytes32 indexed measurementId, bytes32 indexed advisoryId, bool tolerated);
    event AttestationValiditySet(uint256 validity);
    event MaxVerdictAgeSet(uint256 maxAge);
    event WorkerRegistered(
        address indexed worker,
        uint256 indexed poolId,
        bytes32 indexed measurementId,
        bytes32 encryptionKey,
        uint64 attestedUntil,
        IQuoteVerifier.TcbStatus tcbStatus,
        address verifier,
        bytes32 quoteHash
    );
    event WorkerRenewed(
        address indexed worker,
        address indexed previousKey,
        bytes32 indexed measurementId,
        bytes32 encryptionKey,
        uint64 attestedUntil,
        IQuoteVerifier.TcbStatus tcbStatus,
        address verifier,
        bytes32 quoteHash
    );
    event WorkerInvalidated(address indexed worker, address indexed reporter, IQuoteVerifier.TcbStatus tcbStatus, bytes32 quoteHash);
    event WorkerDeregistered(address indexed worker, uint256 indexed poolId);
    event RelayerAuthorised(uint256 indexed poolId, address indexed relayer, bool authorised);
    event MeasurementGpuPolicySet(bytes32 indexed measurementId, GpuPolicy policy);
    /// @notice A worker's GPU was recorded at registration or renewal (the worker's own
    ///         WorkerRegistered / WorkerRenewed event precedes it).
    event WorkerGpuAttested(address indexed worker, bytes32 indexed deviceId, bytes32 model, uint32 driverVersion, uint64 vbiosVersion, uint64 verifiedAt, uint64 attestedUntil);
    /// @notice A worker's GPU record was dropped (deregistration, or a key rotation without GPU evidence).
    event WorkerGpuReleased(address indexed worker, bytes32 indexed deviceId);

    // ------------------------------------------------------------------ governance

    /// @notice Allow or disallow a quote verifier.
    function setVerifier(address verifier, bool allowed) external;

    /// @notice Rank a verifier's strictness for invalidation: a worker admitted by verifier A can be
    ///         invalidated through A, or through an allowed verifier B with rank(B) > 0 and
    ///         rank(B) >= rank(A). Rank 0 (the default) invalidates only its own admissions. Never
    ///         rank a verifier whose evidence is forgeable (DevQuoteVerifier) above 0.
    function setVerifierRank(address verifier, uint8 rank) external;

    /// @notice Allow a measurement with its policy and build metadata (also re-allows a revoked one).
    function allowMeasurement(bytes32 measurementId, Policy calldata policy, BuildInfo calldata build) external;

    /// @notice Replace an allowed measurement's policy; applies to registered workers at once.
    function setPolicy(bytes32 measurementId, Policy calldata policy) external;

    /// @notice Set an allowed measurement's GPU policy; applies to registered workers at once.
    function setGpuPolicy(bytes32 measurementId, GpuPolicy calldata policy) external;

    /// @notice Tolerate (or stop tolerating) an Intel advisory id for a measurement.
    function setAdvisoryTolerance(bytes32 measurementId, bytes32 advisoryId, bool tolerated) external;

    /// @notice Revoke a measurement: every worker running it becomes ineligible at once (O(1)).
    ///         Governance (DEFAULT_ADMIN_ROLE) or the emergency guardian (GUARDIAN_ROLE) may.
    function revokeMeasurement(bytes32 measurementId) external;

    /// @notice How long a registration or renewal keeps a worker attested (bounded).
    function setAttestationValidity(uint256 validity) external;

    /// @notice How old a verifier's verdict may be when it is presented (bounded).
    function setMaxVerdictAge(uint256 maxAge) external;

    // ------------------------------------------------------------------ operators

    /// @notice Register a worker into the caller's pool with a quote and the verifier's evidence.
    /// @param worker The enclave's signing address (its report_data binds it).
    /// @param encryptionKey The enclave's X25519 public key (its report_data binds it).
    function registerWorker(
        uint256 poolId,
        address worker,
        bytes32 encryptionKey,
        address verifier,
        bytes calldata quote,
        bytes calldata evidence
    ) external;

    /// @notice Renew a worker's attestation with a freshly verified quote; may rotate its keys
    ///         (`newWorker` != `worker`: the old key stops counting at once).
    function renewWorker(
        address worker,
        address newWorker,
        bytes32 encryptionKey,
        address verifier,
        bytes calldata quote,
        bytes calldata evidence
    ) external;

    /// @notice As `registerWorker`, with GPU evidence for the same `verifier` (an IGpuVerifier):
    ///         its nonce must commit to the worker's binding, its GPU must back no other live worker.
    function registerGpuWorker(
        uint256 poolId,
        address worker,
        bytes32 encryptionKey,
        address verifier,
        bytes calldata quote,
        bytes calldata evidence,
        bytes calldata gpuEvidence
    ) external;

    /// @notice As `renewWorker`, renewing the GPU record too (the GPU may change).
    function renewGpuWorker(
        address worker,
        address newWorker,
        bytes32 encryptionKey,
        address verifier,
        bytes calldata quote,
        bytes calldata evidence,
        bytes calldata gpuEvidence
    ) external;

    /// @notice Remove a worker from its pool (operator only). Stake is never tied to it.
    function deregisterWorker(address worker) external;

    /// @notice Authorise (or de-authorise) a relayer to claim and settle for the pool's workers.
    function setRelayer(uint256 poolId, address relayer, bool authorised) external;

    // ------------------------------------------------------------------ anyone

    /// @notice Make a worker ineligible with fresh verifier evidence that its platform now falls
    ///         below its measurement's policy. Reverts if the worker would still be valid. Only
    ///         through the verifier that admitted it, or one ranked at least as strict.
    /// @param encryptionKey The worker's registered encryption key (recomputes its binding).
    function invalidateWorker(
        address worker,
        bytes32 encryptionKey,
        address verifier,
        bytes calldata quote,
        bytes calldata evidence
    ) external;

    // ------------------------------------------------------------------ views

    /// @notice True if `worker` may be paid for a job requiring `measurementId`.
    function isEligible(address worker, bytes32 measurementId) external view returns (bool);

    /// @notice As `isEligible`, with a job's stricter TCB floor (worst status it accepts).
    function isEligible(address worker, bytes32 measurementId, IQuoteVerifier.TcbStatus maxTcbStatus)
        external
        view
        returns (bool);

    /// @notice The escrow's one call: the first failing check (or Eligible) and the worker's pool.
    function check(address worker, bytes32 measurementId, IQuoteVerifier.TcbStatus maxTcbStatus, address relayer)
        external
        view
        returns (Reason reason, uint256 poolId);

    /// @notice Whether governance (not the pool) stopped `worker` from being paid under
    ///         `measurementId` by time `by`: the measurement is not allowed (revoked by governance
    ///         or the guardian), its expiry is at or before `by`, or its policy now refuses the
    ///         registered worker's TCB level. The escrow asks it before slashing a missed deadline.
    function stoppedByGovernance(address worker, bytes32 measurementId, uint256 by) external view returns (bool);

    /// @notice For people and relayers: whether a worker is eligible and, if not, why, in words.
    function explain(address worker, bytes32 measurementId) external view returns (bool eligible, string memory reason);

    function workerInfo(address worker) external view returns (WorkerInfo memory);

    function measurementStatus(bytes32 measurementId) external view returns (MeasurementStatus);

    function policyOf(bytes32 measurementId) external view returns (Policy memory);

    function gpuPolicyOf(bytes32 measurementId) external view returns (GpuPolicy memory);

    /// @notice The worker's recorded GPU (all zero: none).
    function gpuInfo(address worker) external view returns (GpuInfo memory);

    /// @notice The live worker a GPU backs (registered, not invalidated, GPU attestation
    ///         unexpired), or zero: while non-zero the GPU cannot back another worker.
    function gpuWorker(bytes32 deviceId) external view returns (address);

    function isAdvisoryTolerated(bytes32 measurementId, bytes32 advisoryId) external view returns (bool);

    function isRelayer(uint256 poolId, address relayer) external view returns (bool);

    function workerCount(uint256 poolId) external view returns (uint256);

    function isVerifier(address verifier) external view returns (bool);

    function verifierRank(address verifier) external view returns (uint8);

    /// @notice The verifier that admitted (or last renewed) the worker; zero if none.
    function workerVerifier(address worker) external view returns (address);

    /// @notice The key's evidence floor: the newest verdict time accepted for it (admission,
    ///         renewal or invalidation), kept across deregistration and rotation. Any admission of
    ///         the key needs a verdict strictly newer than this.
    function evidenceFloor(address worker) external view returns (uint64);
}
