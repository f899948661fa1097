// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {IQuoteVerifier} from "./IQuoteVerifier.sol";
import {IWorkerRegistry} from "./IWorkerRegistry.sol";

/// @title IJobEscrow
/// @notice Clients pay PHA into escrow for a job that must run inside an attested enclave of a
///         given measurement; the escrow pays only for a result that enclave signed (EIP-712).
/// @dev Storage per job is two slots: `client | payment` and a 32-byte commitment to the rest of
///      the job (`JobSpec`, and the claim once claimed). Callers re-supply the spec (from the
///      `JobPosted` event) on claim, settle, cancel and expire; the contract checks it against
///      the commitment. Both slots are cleared when the job ends (settled, cancelled, expired).
///      commitment (open)    = keccak256(abi.encode(spec))
///      commitment (claimed) = keccak256(abi.encode(keccak256(abi.encode(spec)), worker, poolId))
interface IJobEscrow {
    // ------------------------------------------------------------------ types

    /// @notice What the client fixes when posting; re-supplied by later calls.
    /// @param measurementId The enclave measurement that must produce the result.
    /// @param inputHash keccak256 of the input bytes (plaintext JSON or encrypted envelope).
    /// @param worker The chosen worker's signing address, or zero for any eligible worker.
    /// @param relayFee PHA paid to the relayer that submits the settlement (≤ payment).
    /// @param deadline Unix time; results count up to and including it, expiry after it.
    /// @param maxTcbStatus The worst TCB status the job accepts (`Revoked`: no job floor).
    struct JobSpec {
        bytes32 measurementId;
        bytes32 inputHash;
        address worker;
        uint96 relayFee;
        uint40 deadline;
        IQuoteVerifier.TcbStatus maxTcbStatus;
    }

    /// @notice A job's storage: one slot for the client and the escrowed payment, one for the
    ///         commitment. All zero once the job ended (or never existed).
    struct Job {
        address client;
        uint96 payment;
        bytes32 commitment;
    }

    /// @notice One result of a batch settlement.
    /// @param output The output bytes exactly as signed (outputHash = keccak256(output)).
    struct BatchEntry {
        uint256 jobId;
        JobSpec spec;
        bytes output;
    }

    /// @notice A job's state as far as the contract can tell from a (claimed) spec.
    enum JobStatus {
        Unknown, // never posted
        Open, // posted, not claimed
        Claimed, // claimed (or the spec given does not match the job)
        Ended // settled, cancelled or expired
    }

    /// @notice Why a batch entry was skipped (not paid).
    enum SkipReason {
        NotActive, // the job ended (settled, cancelled, expired), never existed, or repeats in the batch
        NotClaimable, // the spec does not match, or another worker claimed the job
        WrongWorker, // the client chose another worker
        MeasurementMismatch, // the job requires another measurement than the worker's
        PastDeadline, // the deadline has passed
        TcbBelowJobFloor // the worker's TCB status is worse than the job accepts
    }

    // ------------------------------------------------------------------ errors

    error JobEscrowZeroAddress();
    error JobEscrowParameterOutOfBounds(uint256 value, uint256 maximum);
    error JobEscrowZeroPayment();
    error JobEscrowRelayFeeAbovePayment(uint256 relayFee, uint256 payment);
    error JobEscrowBadDeadline(uint256 deadline, uint256 earliest, uint256 latest);
    error JobEscrowInputTooLarge(uint256 length, uint256 maximum);
    error JobEscrowOutputTooLarge(uint256 length, uint256 maximum);
    /// @notice The job is not active (ended or never posted).
    error JobEscrowJobNotActive(uint256 jobId);
    /// @notice The spec does not match the job's commitment in the state the call requires.
    error JobEscrowJobNotOpen(uint256 jobId);
    error JobEscrowNotClaimable(uint256 jobId, address worker);
    error JobEscrowWrongWorker(uint256 jobId, address chosen, address worker);
    error JobEscrowNotClient(uint256 jobId, address caller);
    error JobEscrowPastDeadline(uint256 jobId, uint256 deadline);
    error JobEscrowDeadlineNotPassed(uint256 jobId, uint256 deadline);
    /// @notice A claim commits the pool to the deadline; the measurement expires by then.
    error JobEscrowMeasurementExpiresFirst(uint256 jobId, uint256 deadline);
    /// @notice The registry says the worker may not be paid (or the relayer is not authorised).
    error JobEscrowIneligible(address worker, IWorkerRegistry.Reason reason);
    error JobEscrowBadSignature(address worker);
    error JobEscrowEmptyBatch();
    /// @notice Every entry of a batch was skipped.
    error JobEscrowNothingSettled();
    /// @notice No fees are owed to the caller (relayer) or to the treasury.
    error JobEscrowNothingOwed();
    /// @notice A flush names more pools than MAX_FLUSH_POOLS.
    error JobEscrowTooManyPools(uint256 count, uint256 maximum);
    /// @notice Only Staking takes a pool ledger directly.
    error JobEscrowNotStaking(address caller);

    // ------------------------------------------------------------------ events

    event JobPosted(uint256 indexed jobId, address indexed client, bytes32 indexed measurementId, uint96 payment, JobSpec spec, bytes input);
    event JobClaimed(uint256 indexed jobId, address indexed worker, uint256 indexed poolId, address relayer);
    /// @notice One per settled job; the output is carried here only (its hash is in the AttestationLog).
    ///         outputHash = keccak256(output).
    event JobSettled(uint256 indexed jobId, address indexed worker, bytes output);
    /// @notice One per settlement call: the split of its own jobs: the pool's share (poolAmount),
    ///         the relay fee accrued to `relayer` (see withdrawRelayerFees) and the protocol fee
    ///         (see sweepProtocolFees). A batch pays its share at once and accrues its fee; a
    ///         single settlement enters both in the pool's ledger. Ledger payouts (by a batch, a
    ///         flush, a single settlement in a later reward epoch, or Staking taking it) are reported
    ///         by PoolRewardsFlushed, so pool rewards = Σ batch SettlementPaid.poolAmount +
    ///         Σ PoolRewardsFlushed.reward (= Staking's Rewarded events from the escrow).
    event SettlementPaid(address indexed worker, uint256 indexed poolId, address indexed relayer, uint256 jobs, uint256 poolAmount, uint256 relayAmount, uint256 feeAmount);
    event SettlementSkipped(uint256 indexed jobId, SkipReason reason);
    event JobCancelled(uint256 indexed jobId, address indexed client, uint256 refund);
    event JobExpired(uint256 indexed jobId, address indexed claimer, uint256 indexed poolId, uint256 refund, uint256 slashed);
    event ProtocolFeeSet(uint256 feeBps);
    event SlashBpsSet(uint256 slashBps);
    // Indexing would move the address from data to topics and change how every consumer decodes
    // the event; governance events are rare and read by scanning the contract's logs anyway.
    // slither-disable-next-line unindexed-event-address
    event TreasurySet(address treasury);
    /// @notice A relayer withdrew its accrued relay fees.
    event RelayerFeesWithdrawn(address indexed relayer, address indexed to, uint256 amount);
    /// @notice Accrued protocol fees were paid to the treasury.
    event ProtocolFeesSwept(address indexed treasury, uint256 amount);
    /// @notice A pool's ledger was paid: `reward` to the pool through Staking.reward, `fee` added
    ///         to the protocol fees owed.
    event PoolRewardsFlushed(uint256 indexed poolId, uint256 reward, uint256 fee);

    // ------------------------------------------------------------------ clients

    /// @notice Posts a job, pulling `payment` PHA from the caller (approve the escrow first).
    /// @param input A pointer to the input or its ciphertext (at most MAX_INPUT_BYTES), emitted only.
    /// @return jobId The new job's id (sequential from 1).
    function post(JobSpec calldata spec, uint96 payment, bytes calldata input) external returns (uint256 jobId);

    /// @notice As `post`, approving with an ERC-2612 permit first (a front-run permit is ignored
    ///         when the allowance already suffices).
    function postWithPermit(
        JobSpec calldata spec,
        uint96 payment,
        bytes calldata input,
        uint256 permitDeadline,
        uint8 v,
        bytes32 r,
        bytes32 s
    ) external returns (uint256 jobId);

    /// @notice The client takes its payment back from a job nobody claimed.
    function cancel(uint256 jobId, JobSpec calldata spec) external;

    /// @notice After the deadline, anyone refunds the client; a claimed job's pool is slashed
    ///         `payment * slashBps / 10_000` (Staking bounds it further by the pool's backing),
    ///         unless governance made the job unsettleable (measurement revoked, its TCB policy
    ///         tightened past the worker, or its expiry by the deadline): then nothing is slashed.
    /// @param claimer The claiming worker (zero for an unclaimed job), from `JobClaimed`.
    /// @param poolId The claiming pool (zero for an unclaimed job), from `JobClaimed`.
    function expire(uint256 jobId, JobSpec calldata spec, address claimer, uint256 poolId) external;

    // ------------------------------------------------------------------ relayers

    /// @notice Claims an open job for `worker`: only it may settle the job from now on, and the
    ///         pool is slashed if it misses the deadline. The caller must be a relayer the
    ///         worker's pool authorised.
    function claim(uint256 jobId, JobSpec calldata spec, address worker) external;

    /// @notice Settles one job with the enclave's signature over Result(jobId, inputHash,
    ///         outputHash, worker). The job must be open (first valid result wins) or claimed by
    ///         `worker`; the caller must be a relayer of the worker's pool; it receives the relay fee.
    function settle(uint256 jobId, JobSpec calldata spec, address worker, bytes calldata output, bytes calldata signature)
        external;

    /// @notice Settles many jobs with one enclave signature over ResultBatch(resultsHash, worker).
    ///         Entries that cannot be paid are skipped with `SettlementSkipped`; the others are paid.
    /// @param measurementId The worker's measurement: every entry's job must require it.
    function settleBatch(address worker, bytes32 measurementId, BatchEntry[] calldata entries, bytes calldata signature)
        external;

    /// @notice Pays each listed pool's ledger (what its single settlements left): the share to
    ///         the pool through Staking.reward, the protocol fee to `feesOwed`. Anyone may call.
    ///         Empty ledgers are passed over; reverts if every listed ledger is empty, or if more
    ///         than MAX_FLUSH_POOLS are listed.
    /// @return total The PHA paid to the pools.
    function flushPoolRewards(uint256[] calldata poolIds) external returns (uint256 total);

    /// @notice Pays the caller's accrued relay fees to `to`; reverts if none are owed.
    /// @return amount The PHA paid.
    function withdrawRelayerFees(address to) external returns (uint256 amount);

    /// @notice Pays the accrued protocol fees to the treasury (anyone may call), less 1 wei that
    ///         stays owed so the escrow's balance never returns to zero (cheaper posts); reverts
    ///         if no more than that is owed.
    /// @return amount The PHA paid.
    function sweepProtocolFees() external returns (uint256 amount);

    // ------------------------------------------------------------------ governance

    /// @notice Sets the protocol fee in bps of (payment - relay fee), at most MAX_PROTOCOL_FEE_BPS.
    function setProtocolFee(uint256 feeBps) external;

    /// @notice Sets the slash of a missed claimed deadline in bps of the payment, at most MAX_SLASH_BPS.
    function setSlashBps(uint256 slashBps_) external;

    /// @notice Sets the receiver of protocol fees.
    function setTreasury(address treasury_) external;

    // ------------------------------------------------------------------ views

    /// @notice The job's storage (all zero once it ended).
    function jobOf(uint256 jobId) external view returns (Job memory);

    /// @notice The job's status, judged against `spec` (a wrong spec reads as Claimed).
    function statusOf(uint256 jobId, JobSpec calldata spec) external view returns (JobStatus);

    /// @notice The id the next posted job gets.
    function nextJobId() external view returns (uint256);

    function protocolFeeBps() external view returns (uint256);

    function slashBps() external view returns (uint256);

    /// @notice Receiver of protocol fees (paid out by `sweepProtocolFees`).
    function treasury() external view returns (address);

    /// @notice Protocol fees accrued and not yet swept to the treasury (single settlements' fees
    ///         join once their pool's ledger is paid: see poolFeesOwed).
    function feesOwed() external view returns (uint256);

    /// @notice Relay fees accrued to `relayer` and not yet withdrawn.
    function relayerOwed(address relayer) external view returns (uint256);

    /// @notice The pool's share of single settlements not yet paid to it (in its ledger).
    function poolRewardsOwed(uint256 poolId) external view returns (uint256);

    /// @notice Protocol fees of the pool's single settlements not yet moved to `feesOwed` (in its ledger).
    function poolFeesOwed(uint256 poolId) external view returns (uint256);

    /// @notice When the pool's ledger received its first unpaid entry (zero when it is empty).
    ///         A single settlement in a later reward epoch (REWARD_EPOCH grid) pays the ledger at once;
    ///         Staking takes it before any change to the pool's shares, slash or commission.
    function poolLedgerOpenedAt(uint256 poolId) external view returns (uint256);

    /// @notice Relay fees `relayer` has withdrawn so far (cumulative).
    function relayerWithdrawn(address relayer) external view returns (uint256);

    /// @notice The EIP-712 digest a worker signs for one result.
    function resultDigest(uint256 jobId, bytes32 inputHash, bytes32 outputHash, address worker)
        external
        view
        returns (bytes32);

    /// @notice The EIP-712 digest a worker signs for a batch.
    function batchDigest(bytes32 resultsHash_, address worker) external view returns (bytes32);

    /// @notice keccak256 of the packed entry hashes keccak256(abi.encode(jobId, inputHash, outputHash)).
    function resultsHash(BatchEntry[] calldata entries) external pure returns (bytes32);

    /// @notice The commitment of an open job with this spec.
    function specHash(JobSpec calldata spec) external pure returns (bytes32);
}
