// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {IERC20Permit} from "@openzeppelin/contracts/token/ERC20/extensions/IERC20Permit.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";
import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";

import {IAttestationLog} from "./interfaces/IAttestationLog.sol";
import {IJobEscrow} from "./interfaces/IJobEscrow.sol";
import {IPoolRewardLedger} from "./interfaces/IPoolRewardLedger.sol";
import {IQuoteVerifier} from "./interfaces/IQuoteVerifier.sol";
import {IStaking} from "./interfaces/IStaking.sol";
import {IWorkerRegistry} from "./interfaces/IWorkerRegistry.sol";
import {RewardEpoch} from "./libraries/RewardEpoch.sol";

/// @title JobEscrow
/// @notice Escrows PHA for jobs that must run in an attested enclave and pays for enclave-signed
///         results. Each settlement splits the payment into the relay fee (accrued to the
///         submitting relayer, pulled by `withdrawRelayerFees`), the protocol fee (accrued for the
///         treasury, paid by `sweepProtocolFees`) and the pool's share (to the worker's staking pool
///         through Staking.reward). A batch pays its pool at once. A single settlement enters its
///         pool's share and protocol fee in the pool's ledger here; the pool's next batch or a
///         flush (`flushPoolRewards`, anyone) pays the ledger: one Staking.reward for many
///         settlements. Missed claimed deadlines slash the pool.
/// @dev Invariants (tested in tests/escrow/test_invariants.py):
///      - the escrow's PHA balance equals the sum of the payments of active jobs plus the accrued
///        unpaid amounts (protocol fees owed + every relayer's fees owed + every pool ledger's
///        reward and fee), to the wei;
///      - a job ends at most once (settled, cancelled or expired), and its two slots are then zero;
///      - a job's payment is accounted for exactly once, split fee + relay fee (accrued) + pool
///        share (paid, or entered in the pool's ledger) on settlement, or whole to the client on
///        cancel / expiry.
///      No call ever reaches client code: PHA is the only token and it has no transfer hooks; the
///      only external contracts called are the immutable token, staking, registry and log.
contract JobEscrow is IJobEscrow, IPoolRewardLedger, AccessControl, EIP712, ReentrancyGuardTransient {
    using SafeERC20 for IERC20;

    // ================================================================ state

    /// @notice Hard maximum protocol fee: 10% of (payment - relay fee).
    uint256 public constant MAX_PROTOCOL_FEE_BPS = 1_000;
    /// @notice Hard maximum slash for a missed claimed deadline: 50% of the job's payment.
    uint256 public constant MAX_SLASH_BPS = 5_000;
    /// @notice Longest time between posting and the deadline.
    uint256 public constant MAX_JOB_DURATION = 30 days;
    /// @notice Largest input pointer / ciphertext carried in `JobPosted`.
    uint256 public constant MAX_INPUT_BYTES = 8_192;
    /// @notice Largest output carried in `JobSettled` (larger outputs: emit a pointer).
    uint256 public constant MAX_OUTPUT_BYTES = 8_192;
    /// @notice Most pools one `flushPoolRewards` call pays.
    uint256 public constant MAX_FLUSH_POOLS = 100;
    /// @notice A pool ledger holds the single settlements of one reward epoch (RewardEpoch, one
    ///         hour): a single settlement in a later epoch pays the ledger, its own share
    ///         included, to the pool at once. So every entry of a ledger was earned under the
    ///         commission in force at its opening (increases take effect on the epoch grid), and
    ///         Staking takes the ledger (`takePoolLedger`) before any change to the pool's shares,
    ///         slash or commission: what waits belongs to the stakers of the time it was earned.
    uint256 public constant REWARD_EPOCH = RewardEpoch.LENGTH;

    bytes32 public constant RESULT_TYPEHASH =
        keccak256("Result(uint256 jobId,bytes32 inputHash,bytes32 outputHash,address worker)");
    bytes32 public constant RESULT_BATCH_TYPEHASH = keccak256("ResultBatch(bytes32 resultsHash,address worker)");

    /// @dev `Revoked` is the worst TCB status: as a job floor it accepts whatever the registry does.
    IQuoteVerifier.TcbStatus private constant NO_TCB_FLOOR = IQuoteVerifier.TcbStatus.Revoked;

    IERC20 public immutable TOKEN;
    IStaking public immutable override STAKING;
    IWorkerRegistry public immutable override REGISTRY;
    IAttestationLog public immutable LOG;

    /// @dev One slot, read and written by post (job counter) and by settlement (fee rate, fees
    ///      accrued). Sharing the slot with the counter keeps it non-zero, so accruing after a
    ///      sweep never pays for a zero-to-non-zero write. uint160 holds any PHA amount (the
    ///      supply is capped at 1e27 < 2^90).
    struct Config {
        uint64 nextJobId;
        uint16 feeBps;
        uint16 slashBps;
        uint160 feesOwed;
    }

    /// @dev A relayer's relay fees: `owed` (withdrawable) and `withdrawn` (cumulative). One slot;
    ///      `withdrawn` keeps it non-zero after a withdrawal, so the next accrual is a
    ///      non-zero-to-non-zero write.
    struct RelayerFees {
        uint128 owed;
        uint128 withdrawn;
    }

    /// @dev What single settlements left for one pool: its share (`reward`, for Staking.reward)
    ///      and the protocol fee they earned (`fee`, moved to `feesOwed` when the ledger is paid),
    ///      and when the first of them entered (`openedAt`, kept after a payout: it keeps the slot
    ///      non-zero, so the next entry is a non-zero-to-non-zero write). One slot, so a single
    ///      settlement writes one slot for all (2.9k gas, where a Staking.reward with its token
    ///      transfer costs about 40k and a separate fee write 2.9k more). uint112 holds any PHA
    ///      amount (capped supply < 2^90); uint32 seconds last until 2106.
    struct PoolLedger {
        uint112 reward;
        uint112 fee;
        uint32 openedAt;
    }

    /// @dev Totals of one settlement call.
    struct Totals {
        uint256 jobs;
        uint256 poolAmount;
        uint256 relayAmount;
        uint256 feeAmount;
    }

    /// @dev What a single settlement pays the pool now: its own share (`amount`, earned now) and
    ///      the ledger's (`ledger`, earned at `ledgerEarnedAt`); all zero when it only enters the ledger.
    struct Payout {
        uint256 amount;
        uint256 ledger;
        uint256 ledgerEarnedAt;
    }

    /// @dev What every entry of a batch settlement is checked against.
    struct BatchContext {
        address worker;
        bytes32 measurementId;
        uint256 poolId;
        uint256 feeBps;
        uint256 workerTcb;
    }

    uint256 private constant UNKNOWN_TCB = type(uint256).max;

    /// @dev Protocol fees a sweep leaves owed (1 wei, still the treasury's): once any fee was
    ///      earned, the escrow's PHA balance never returns to zero, so no later post pays the
    ///      token's zero-to-non-zero balance write (about 17k gas).
    uint256 private constant FEE_ANCHOR = 1;

    Config private _config;
    address private _treasury;
    mapping(uint256 jobId => Job) private _jobs;
    mapping(address relayer => RelayerFees) private _relayerFees;
    mapping(uint256 poolId => PoolLedger) private _poolLedgers;

    // ================================================================ constructor

    /// @param admin Governance (DEFAULT_ADMIN_ROLE): fees, slash size, treasury.
    /// @param token The PHA token.
    /// @param staking Staking: pools are rewarded through it and slashed through it (grant this
    ///        contract SLASHER_ROLE there).
    /// @param registry The worker registry asked about eligibility.
    /// @param log The attestation log (governance makes this contract its escrow writer there).
    /// @param treasury_ Receiver of protocol fees.
    constructor(
        address admin,
        IERC20 token,
        IStaking staking,
        IWorkerRegistry registry,
        IAttestationLog log,
        address treasury_,
        uint256 feeBps,
        uint256 slashBps_
    ) EIP712("PHA JobEscrow", "1") {
        if (
            admin == address(0) || address(token) == address(0) || address(staking) == address(0)
                || address(registry) == address(0) || address(log) == address(0) || treasury_ == address(0)
        ) revert JobEscrowZeroAddress();
        _checkBound(feeBps, MAX_PROTOCOL_FEE_BPS);
        _checkBound(slashBps_, MAX_SLASH_BPS);
        _grantRole(DEFAULT_ADMIN_ROLE, admin);
        TOKEN = token;
        STAKING = staking;
        REGISTRY = registry;
        LOG = log;
        _config = Config({nextJobId: 1, feeBps: uint16(feeBps), slashBps: uint16(slashBps_), feesOwed: 0});
        _treasury = treasury_;
        // Trust: Staking is a core contract of this stack (same governance) whose `reward` pulls
        // exactly the `amount` it is passed, and the escrow passes exactly each settlement's pool
        // share. An unlimited allowance, set once, saves the approve on every settlement (OZ
        // ERC20 does not decrease an allowance of type(uint256).max, so reward's transferFrom
        // writes no allowance slot). Staking is immutable here; a compromised Staking could take
        // the escrow's balance, as it could with the exact approvals too (it holds every pool's stake).
        TOKEN.forceApprove(address(staking), type(uint256).max);
        emit ProtocolFeeSet(feeBps);
        emit SlashBpsSet(slashBps_);
        emit TreasurySet(treasury_);
    }

    // ================================================================ clients

    /// @inheritdoc IJobEscrow
    function post(JobSpec calldata spec, uint96 payment, bytes calldata input)
        external
        nonReentrant
        returns (uint256 jobId)
    {
        jobId = _post(spec, payment, input);
    }

    // State written after the permit call: the permit goes to the immutable PHA token (no hooks,
    // nothing to re-enter through), and the function is nonReentrant.
    // slither-disable-start reentrancy-benign
    /// @inheritdoc IJobEscrow
    function postWithPermit(
        JobSpec calldata spec,
        uint96 payment,
        bytes calldata input,
        uint256 permitDeadline,
        uint8 v,
        bytes32 r,
        bytes32 s
    ) external nonReentrant returns (uint256 jobId) {
        // A permit copied from the mempool and used first must not make the post fail: ignore a
        // failed permit, transferFrom then checks the allowance anyway.
        try IERC20Permit(address(TOKEN)).permit(msg.sender, address(this), payment, permitDeadline, v, r, s) {} catch {}
        jobId = _post(spec, payment, input);
    }
    // slither-disable-end reentrancy-benign

    /// @inheritdoc IJobEscrow
    function cancel(uint256 jobId, JobSpec calldata spec) external nonReentrant {
        Job memory job = _jobs[jobId];
        if (job.client == address(0)) revert JobEscrowJobNotActive(jobId);
        if (job.client != msg.sender) revert JobEscrowNotClient(jobId, msg.sender);
        if (job.commitment != _specHash(spec)) revert JobEscrowJobNotOpen(jobId);
        delete _jobs[jobId];
        emit JobCancelled(jobId, msg.sender, job.payment);
        TOKEN.safeTransfer(msg.sender, job.payment);
    }

    /// @inheritdoc IJobEscrow
    function expire(uint256 jobId, JobSpec calldata spec, address claimer, uint256 poolId) external nonReentrant {
        Job memory job = _jobs[jobId];
        if (job.client == address(0)) revert JobEscrowJobNotActive(jobId);
        bytes32 h = _specHash(spec);
        if (claimer == address(0)) {
            if (job.commitment != h) revert JobEscrowJobNotOpen(jobId);
        } else if (job.commitment != _claimHash(h, claimer, poolId)) {
            revert JobEscrowNotClaimable(jobId, claimer);
        }
        if (block.timestamp <= spec.deadline) revert JobEscrowDeadlineNotPassed(jobId, spec.deadline);
        delete _jobs[jobId];
        uint256 slashed = 0;
        // A deadline governance made impossible to meet (IWorkerRegistry.stoppedByGovernance) is
        // not the pool's miss: the client is refunded, nobody is slashed.
        if (claimer != address(0) && !REGISTRY.stoppedByGovernance(claimer, spec.measurementId, spec.deadline)) {
            uint256 amount = uint256(job.payment) * _config.slashBps / 10_000;
            if (amount != 0) {
                slashed = STAKING.slash(poolId, amount, keccak256(abi.encode(jobId, claimer)));
            }
        }
        emit JobExpired(jobId, claimer, poolId, job.payment, slashed);
        TOKEN.safeTransfer(job.client, job.payment);
    }

    // ================================================================ relayers

    /// @inheritdoc IJobEscrow
    function claim(uint256 jobId, JobSpec calldata spec, address worker) external {
        bytes32 h = _specHash(spec);
        if (_jobs[jobId].commitment != h) {
            if (_jobs[jobId].client == address(0)) revert JobEscrowJobNotActive(jobId);
            revert JobEscrowJobNotOpen(jobId);
        }
        if (spec.worker != address(0) && spec.worker != worker) {
            revert JobEscrowWrongWorker(jobId, spec.worker, worker);
        }
        if (block.timestamp > spec.deadline) revert JobEscrowPastDeadline(jobId, spec.deadline);
        uint256 poolId = _checkEligible(worker, spec.measurementId, spec.maxTcbStatus);
        // A claim commits the pool to the deadline: a measurement already due to expire by then
        // could not carry the job, and its expiry would excuse the miss at `expire`. So an
        // expiry by the deadline excuses a pool only when governance moved it after the claim.
        if (REGISTRY.stoppedByGovernance(worker, spec.measurementId, spec.deadline)) {
            revert JobEscrowMeasurementExpiresFirst(jobId, spec.deadline);
        }
        _jobs[jobId].commitment = _claimHash(h, worker, poolId);
        emit JobClaimed(jobId, worker, poolId, msg.sender);
    }

    /// @inheritdoc IJobEscrow
    function settle(uint256 jobId, JobSpec calldata spec, address worker, bytes calldata output, bytes calldata signature)
        external
        nonReentrant
    {
        if (output.length > MAX_OUTPUT_BYTES) revert JobEscrowOutputTooLarge(output.length, MAX_OUTPUT_BYTES);
        (uint96 payment, uint256 poolId) = _checkSettleable(jobId, spec, worker);
        bytes32 outputHash = keccak256(output);
        _checkSignature(
            keccak256(abi.encode(RESULT_TYPEHASH, jobId, spec.inputHash, outputHash, worker)), worker, signature
        );

        delete _jobs[jobId];
        emit JobSettled(jobId, worker, output);
        Payout memory payout = _enterInLedger(worker, poolId, payment, spec.relayFee);
        // The log's return value (the entry's index) is not needed here; the entry is in its event.
        // slither-disable-next-line unused-return
        LOG.append(_logEntry(jobId, worker, spec.measurementId, outputHash));
        if (payout.amount + payout.ledger != 0) {
            STAKING.rewardWithLedger(poolId, payout.amount, payout.ledger, payout.ledgerEarnedAt);
        }
    }

    /// @inheritdoc IJobEscrow
    function settleBatch(address worker, bytes32 measurementId, BatchEntry[] calldata entries, bytes calldata signature)
        external
        nonReentrant
    {
        if (entries.length == 0) revert JobEscrowEmptyBatch();
        // The registry's checks once for the whole batch; the per-job TCB floor is checked per entry.
        uint256 poolId = _checkEligible(worker, measurementId, NO_TCB_FLOOR);
        (bytes32[] memory outputHashes, bytes32 batchHash) = _hashBatch(entries);
        _checkSignature(keccak256(abi.encode(RESULT_BATCH_TYPEHASH, batchHash, worker)), worker, signature);

        BatchContext memory ctx = BatchContext({
            worker: worker,
            measurementId: measurementId,
            poolId: poolId,
            feeBps: _config.feeBps,
            workerTcb: UNKNOWN_TCB
        });
        (Totals memory totals, IAttestationLog.Entry[] memory logEntries) = _settleEntries(ctx, entries, outputHashes);
        if (totals.jobs == 0) revert JobEscrowNothingSettled();
        emit SettlementPaid(worker, poolId, msg.sender, totals.jobs, totals.poolAmount, totals.relayAmount, totals.feeAmount);
        // The batch pays the pool's ledger too: one reward for the batch and every single
        // settlement since the pool was last paid.
        (uint256 ledgerReward, uint256 ledgerFee, uint256 ledgerOpenedAt) = _takeLedger(poolId);
        _accrue(totals.feeAmount + ledgerFee, totals.relayAmount);
        // The log's return value (the first entry's index) is not needed; the entries are in its events.
        // slither-disable-next-line unused-return
        LOG.appendBatch(logEntries);
        if (totals.poolAmount + ledgerReward != 0) {
            STAKING.rewardWithLedger(poolId, totals.poolAmount, ledgerReward, ledgerOpenedAt);
        }
    }

    /// @inheritdoc IJobEscrow
    function flushPoolRewards(uint256[] calldata poolIds) external nonReentrant returns (uint256 total) {
        uint256 n = poolIds.length;
        if (n > MAX_FLUSH_POOLS) revert JobEscrowTooManyPools(n, MAX_FLUSH_POOLS);
        // Every ledger is emptied and every fee accrued before the first external call.
        uint256[] memory rewards = new uint256[](n);
        uint256[] memory openedAt = new uint256[](n);
        uint256 fees = 0;
        for (uint256 i = 0; i < n; ++i) {
            uint256 fee;
            (rewards[i], fee, openedAt[i]) = _takeLedger(poolIds[i]);
            fees += fee;
            total += rewards[i];
        }
        if (total == 0 && fees == 0) revert JobEscrowNothingOwed();
        _accrue(fees, 0);
        for (uint256 i = 0; i < n; ++i) {
            // One reward per listed pool with a share owed; the list is bounded by MAX_FLUSH_POOLS,
            // and a repeated id found its ledger empty the second time (rewards[i] == 0).
            // slither-disable-next-line calls-loop
            if (rewards[i] != 0) STAKING.rewardWithLedger(poolIds[i], 0, rewards[i], openedAt[i]);
        }
    }

    /// @inheritdoc IPoolRewardLedger
    /// @dev Not nonReentrant: Staking calls it from within the escrow's own calls into Staking
    ///      (an expiry's slash takes the ledger first). It only empties the ledger and books its fee;
    ///      Staking then pulls the reward under the standing allowance.
    function takePoolLedger(uint256 poolId) external returns (uint256 reward, uint256 earnedAt) {
        if (msg.sender != address(STAKING)) revert JobEscrowNotStaking(msg.sender);
        uint256 fee;
        (reward, fee, earnedAt) = _takeLedger(poolId);
        if (fee != 0) _accrue(fee, 0);
    }

    /// @inheritdoc IJobEscrow
    function withdrawRelayerFees(address to) external nonReentrant returns (uint256 amount) {
        if (to == address(0)) revert JobEscrowZeroAddress();
        RelayerFees storage fees = _relayerFees[msg.sender];
        amount = fees.owed;
        if (amount == 0) revert JobEscrowNothingOwed();
        fees.owed = 0;
        // Cumulative relay fees of one relayer are below the capped PHA supply (< 2^90).
        fees.withdrawn += uint128(amount);
        emit RelayerFeesWithdrawn(msg.sender, to, amount);
        TOKEN.safeTransfer(to, amount);
    }

    /// @inheritdoc IJobEscrow
    function sweepProtocolFees() external nonReentrant returns (uint256 amount) {
        uint256 owed = _config.feesOwed;
        if (owed <= FEE_ANCHOR) revert JobEscrowNothingOwed();
        amount = owed - FEE_ANCHOR;
        _config.feesOwed = uint160(FEE_ANCHOR);
        address to = _treasury;
        emit ProtocolFeesSwept(to, amount);
        TOKEN.safeTransfer(to, amount);
    }

    // ================================================================ governance

    /// @inheritdoc IJobEscrow
    function setProtocolFee(uint256 feeBps) external onlyRole(DEFAULT_ADMIN_ROLE) {
        _checkBound(feeBps, MAX_PROTOCOL_FEE_BPS);
        _config.feeBps = uint16(feeBps);
        emit ProtocolFeeSet(feeBps);
    }

    /// @inheritdoc IJobEscrow
    function setSlashBps(uint256 slashBps_) external onlyRole(DEFAULT_ADMIN_ROLE) {
        _checkBound(slashBps_, MAX_SLASH_BPS);
        _config.slashBps = uint16(slashBps_);
        emit SlashBpsSet(slashBps_);
    }

    /// @inheritdoc IJobEscrow
    function setTreasury(address treasury_) external onlyRole(DEFAULT_ADMIN_ROLE) {
        if (treasury_ == address(0)) revert JobEscrowZeroAddress();
        _treasury = treasury_;
        emit TreasurySet(treasury_);
    }

    // ================================================================ views

    /// @inheritdoc IJobEscrow
    function jobOf(uint256 jobId) external view returns (Job memory) {
        return _jobs[jobId];
    }

    /// @inheritdoc IJobEscrow
    function statusOf(uint256 jobId, JobSpec calldata spec) external view returns (JobStatus) {
        if (jobId == 0 || jobId >= _config.nextJobId) return JobStatus.Unknown;
        Job storage job = _jobs[jobId];
        if (job.client == address(0)) return JobStatus.Ended;
        return job.commitment == _specHash(spec) ? JobStatus.Open : JobStatus.Claimed;
    }

    /// @inheritdoc IJobEscrow
    function nextJobId() external view returns (uint256) {
        return _config.nextJobId;
    }

    /// @inheritdoc IJobEscrow
    function protocolFeeBps() external view returns (uint256) {
        return _config.feeBps;
    }

    /// @inheritdoc IJobEscrow
    function slashBps() external view returns (uint256) {
        return _config.slashBps;
    }

    /// @inheritdoc IJobEscrow
    function treasury() external view returns (address) {
        return _treasury;
    }

    /// @inheritdoc IJobEscrow
    function feesOwed() external view returns (uint256) {
        return _config.feesOwed;
    }

    /// @inheritdoc IJobEscrow
    function relayerOwed(address relayer) external view returns (uint256) {
        return _relayerFees[relayer].owed;
    }

    /// @inheritdoc IJobEscrow
    function poolRewardsOwed(uint256 poolId) external view returns (uint256) {
        return _poolLedgers[poolId].reward;
    }

    /// @inheritdoc IJobEscrow
    function poolFeesOwed(uint256 poolId) external view returns (uint256) {
        return _poolLedgers[poolId].fee;
    }

    /// @inheritdoc IJobEscrow
    function poolLedgerOpenedAt(uint256 poolId) external view returns (uint256) {
        PoolLedger memory ledger = _poolLedgers[poolId];
        return ledger.reward == 0 && ledger.fee == 0 ? 0 : ledger.openedAt;
    }

    /// @inheritdoc IJobEscrow
    function relayerWithdrawn(address relayer) external view returns (uint256) {
        return _relayerFees[relayer].withdrawn;
    }

    /// @inheritdoc IJobEscrow
    function resultDigest(uint256 jobId, bytes32 inputHash, bytes32 outputHash, address worker)
        external
        view
        returns (bytes32)
    {
        return _hashTypedDataV4(keccak256(abi.encode(RESULT_TYPEHASH, jobId, inputHash, outputHash, worker)));
    }

    /// @inheritdoc IJobEscrow
    function batchDigest(bytes32 resultsHash_, address worker) external view returns (bytes32) {
        return _hashTypedDataV4(keccak256(abi.encode(RESULT_BATCH_TYPEHASH, resultsHash_, worker)));
    }

    /// @inheritdoc IJobEscrow
    function resultsHash(BatchEntry[] calldata entries) external pure returns (bytes32 batchHash) {
        (, batchHash) = _hashBatch(entries);
    }

    /// @inheritdoc IJobEscrow
    function specHash(JobSpec calldata spec) external pure returns (bytes32) {
        return _specHash(spec);
    }

    // ================================================================ internal

    function _post(JobSpec calldata spec, uint96 payment, bytes calldata input) private returns (uint256 jobId) {
        if (payment == 0) revert JobEscrowZeroPayment();
        if (spec.relayFee > payment) revert JobEscrowRelayFeeAbovePayment(spec.relayFee, payment);
        uint256 latest = block.timestamp + MAX_JOB_DURATION;
        if (spec.deadline <= block.timestamp || spec.deadline > latest) {
            revert JobEscrowBadDeadline(spec.deadline, block.timestamp + 1, latest);
        }
        if (input.length > MAX_INPUT_BYTES) revert JobEscrowInputTooLarge(input.length, MAX_INPUT_BYTES);

        jobId = _config.nextJobId;
        unchecked {
            // A uint64 counter incremented once per post cannot overflow.
            _config.nextJobId = uint64(jobId + 1);
        }
        _jobs[jobId] = Job({client: msg.sender, payment: payment, commitment: _specHash(spec)});
        emit JobPosted(jobId, msg.sender, spec.measurementId, payment, spec, input);
        TOKEN.safeTransferFrom(msg.sender, address(this), payment);
    }

    /// @dev Checks a single settlement up to the signature; returns the payment and the worker's pool.
    function _checkSettleable(uint256 jobId, JobSpec calldata spec, address worker)
        private
        view
        returns (uint96 payment, uint256 poolId)
    {
        Job memory job = _jobs[jobId];
        if (job.client == address(0)) revert JobEscrowJobNotActive(jobId);
        poolId = _checkEligible(worker, spec.measurementId, spec.maxTcbStatus);
        bytes32 h = _specHash(spec);
        if (job.commitment == h) {
            if (spec.worker != address(0) && spec.worker != worker) {
                revert JobEscrowWrongWorker(jobId, spec.worker, worker);
            }
        } else if (job.commitment != _claimHash(h, worker, poolId)) {
            revert JobEscrowNotClaimable(jobId, worker);
        }
        if (block.timestamp > spec.deadline) revert JobEscrowPastDeadline(jobId, spec.deadline);
        payment = job.payment;
    }

    /// @dev Skips (with an event) the entries that cannot be paid, clears and totals the others.
    function _settleEntries(BatchContext memory ctx, BatchEntry[] calldata entries, bytes32[] memory outputHashes)
        private
        returns (Totals memory totals, IAttestationLog.Entry[] memory logEntries)
    {
        uint256 n = entries.length;
        logEntries = new IAttestationLog.Entry[](n);
        for (uint256 i = 0; i < n; ++i) {
            BatchEntry calldata e = entries[i];
            (uint96 payment, SkipReason reason) = _entryCheck(e, ctx);
            if (payment == 0) {
                emit SettlementSkipped(e.jobId, reason);
                continue;
            }
            delete _jobs[e.jobId];
            uint256 fee = (uint256(payment) - e.spec.relayFee) * ctx.feeBps / 10_000;
            totals.feeAmount += fee;
            totals.relayAmount += e.spec.relayFee;
            totals.poolAmount += payment - e.spec.relayFee - fee;
            emit JobSettled(e.jobId, ctx.worker, e.output);
            logEntries[totals.jobs] = _logEntry(e.jobId, ctx.worker, ctx.measurementId, outputHashes[i]);
            ++totals.jobs;
        }
        uint256 settled = totals.jobs;
        // Shrinking a memory array in place has no Solidity equivalent short of a copy.
        // slither-disable-next-line assembly
        assembly ("memory-safe") {
            // Shrink the array to the settled entries (only ever shortens it: settled <= n).
            mstore(logEntries, settled)
        }
    }

    /// @dev The payment of a batch entry's job if it can be paid to the worker now (every
    ///      posted job has a non-zero payment), else zero and why not.
    function _entryCheck(BatchEntry calldata e, BatchContext memory ctx) private view returns (uint96, SkipReason) {
        Job memory job = _jobs[e.jobId];
        if (job.client == address(0)) return (0, SkipReason.NotActive);
        bytes32 h = _specHash(e.spec);
        if (job.commitment == h) {
            if (e.spec.worker != address(0) && e.spec.worker != ctx.worker) return (0, SkipReason.WrongWorker);
        } else if (job.commitment != _claimHash(h, ctx.worker, ctx.poolId)) {
            return (0, SkipReason.NotClaimable);
        }
        if (e.spec.measurementId != ctx.measurementId) return (0, SkipReason.MeasurementMismatch);
        if (block.timestamp > e.spec.deadline) return (0, SkipReason.PastDeadline);
        if (e.spec.maxTcbStatus != NO_TCB_FLOOR) {
            // The worker's TCB status, read from the registry once per batch on first need (the
            // call in the loop runs at most once: ctx.workerTcb caches it).
            // slither-disable-next-line calls-loop
            if (ctx.workerTcb == UNKNOWN_TCB) ctx.workerTcb = uint256(REGISTRY.workerInfo(ctx.worker).tcbStatus);
            if (ctx.workerTcb > uint256(e.spec.maxTcbStatus)) return (0, SkipReason.TcbBelowJobFloor);
        }
        return (job.payment, SkipReason.NotActive);
    }

    /// @dev Output hashes of the entries and resultsHash = keccak256(e_1 || ... || e_n),
    ///      e_i = keccak256(abi.encode(jobId_i, inputHash_i, outputHash_i)).
    function _hashBatch(BatchEntry[] calldata entries)
        private
        pure
        returns (bytes32[] memory outputHashes, bytes32 batchHash)
    {
        uint256 n = entries.length;
        outputHashes = new bytes32[](n);
        bytes32[] memory leaves = new bytes32[](n);
        for (uint256 i = 0; i < n; ++i) {
            BatchEntry calldata e = entries[i];
            if (e.output.length > MAX_OUTPUT_BYTES) revert JobEscrowOutputTooLarge(e.output.length, MAX_OUTPUT_BYTES);
            bytes32 outputHash = keccak256(e.output);
            outputHashes[i] = outputHash;
            leaves[i] = keccak256(abi.encode(e.jobId, e.spec.inputHash, outputHash));
        }
        batchHash = keccak256(abi.encodePacked(leaves));
    }

    /// @dev Accrues fees (before any external call): protocol fees for the treasury, relay fees
    ///      for the caller.
    function _accrue(uint256 fee, uint256 relayFee) private {
        // Both sums are below the capped PHA supply (< 2^90): the casts cannot truncate.
        if (fee != 0) _config.feesOwed += uint160(fee);
        if (relayFee != 0) _relayerFees[msg.sender].owed += uint128(relayFee);
    }

    /// @dev Splits a single settlement's payment: the relay fee accrues to the caller; the pool's
    ///      share and the protocol fee enter the pool's ledger. A ledger opened in an earlier reward
    ///      epoch is paid instead, with this settlement's share and fee: returns this settlement's
    ///      share and the ledger's for the caller to pay through Staking.rewardWithLedger (all
    ///      zero when nothing is paid now).
    function _enterInLedger(address worker, uint256 poolId, uint256 payment, uint256 relayFee)
        private
        returns (Payout memory payout)
    {
        uint256 fee = (payment - relayFee) * _config.feeBps / 10_000;
        uint256 poolAmount = payment - relayFee - fee;
        emit SettlementPaid(worker, poolId, msg.sender, 1, poolAmount, relayFee, fee);
        PoolLedger memory ledger = _poolLedgers[poolId];
        if (ledger.reward == 0 && ledger.fee == 0) {
            ledger.openedAt = uint32(block.timestamp);
        } else if (RewardEpoch.index(block.timestamp) != RewardEpoch.index(ledger.openedAt)) {
            // The ledger's epoch is over: pay it (earned then) and this settlement (earned now).
            _poolLedgers[poolId] = PoolLedger({reward: 0, fee: 0, openedAt: ledger.openedAt});
            // Reported as one payout of the ledger with this settlement in it (as a batch's share is
            // in SettlementPaid), so pool rewards = batch shares + PoolRewardsFlushed rewards.
            emit PoolRewardsFlushed(poolId, ledger.reward + poolAmount, ledger.fee + fee);
            _accrue(fee + ledger.fee, relayFee);
            return Payout({amount: poolAmount, ledger: ledger.reward, ledgerEarnedAt: ledger.openedAt});
        }
        // Sums below the capped PHA supply (< 2^90): the uint112 casts cannot truncate.
        _poolLedgers[poolId] = PoolLedger({
            reward: uint112(ledger.reward + poolAmount), fee: uint112(ledger.fee + fee), openedAt: ledger.openedAt
        });
        _accrue(0, relayFee);
    }

    /// @dev Empties the pool's ledger and returns what it held and when it opened; the caller
    ///      accrues the fee and has the reward paid through Staking (which pulls it under the
    ///      allowance set in the constructor). Writes nothing when the ledger is empty.
    function _takeLedger(uint256 poolId) private returns (uint256 reward, uint256 fee, uint256 openedAt) {
        PoolLedger storage ledger = _poolLedgers[poolId];
        (reward, fee, openedAt) = (ledger.reward, ledger.fee, ledger.openedAt);
        if (reward == 0 && fee == 0) return (0, 0, 0);
        (ledger.reward, ledger.fee) = (0, 0);
        emit PoolRewardsFlushed(poolId, reward, fee);
    }

    /// @dev The registry's verdict for (worker, measurement, floor, caller as relayer); reverts unless eligible.
    function _checkEligible(address worker, bytes32 measurementId, IQuoteVerifier.TcbStatus maxTcbStatus)
        private
        view
        returns (uint256 poolId)
    {
        IWorkerRegistry.Reason reason;
        (reason, poolId) = REGISTRY.check(worker, measurementId, maxTcbStatus, msg.sender);
        if (reason != IWorkerRegistry.Reason.Eligible) revert JobEscrowIneligible(worker, reason);
    }

    function _checkSignature(bytes32 structHash, address worker, bytes calldata signature) private view {
        // The third value (the error's argument) only details a failure that the check below rejects.
        // slither-disable-next-line unused-return
        (address signer, ECDSA.RecoverError error,) = ECDSA.tryRecover(_hashTypedDataV4(structHash), signature);
        if (error != ECDSA.RecoverError.NoError || signer != worker) revert JobEscrowBadSignature(worker);
    }

    function _logEntry(uint256 jobId, address worker, bytes32 measurementId, bytes32 outputHash)
        private
        pure
        returns (IAttestationLog.Entry memory)
    {
        return IAttestationLog.Entry({
            kind: IAttestationLog.Kind.ResultSettled,
            subject: bytes32(jobId),
            worker: worker,
            measurement: measurementId,
            dataHash: outputHash
        });
    }

    function _specHash(JobSpec calldata spec) private pure returns (bytes32) {
        return keccak256(abi.encode(spec));
    }

    function _claimHash(bytes32 specHash_, address worker, uint256 poolId) private pure returns (bytes32) {
        return keccak256(abi.encode(specHash_, worker, poolId));
    }

    function _checkBound(uint256 value, uint256 maximum) private pure {
        if (value > maximum) revert JobEscrowParameterOutOfBounds(value, maximum);
    }
}
