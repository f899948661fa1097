// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {IPoolBackingObserver} from "./IPoolBackingObserver.sol";

/// @title IStaking
/// @notice Operator staking pools for TEE workers: delegation by shares, O(1) rewards with an
///         operator commission, a share-based withdrawal queue with a cooldown, and bounded
///         slashing of active and queued stake.
/// @dev Amounts are PHA wei (18 decimals). Pool ids are sequential from 1 and fit in uint64;
///      the ABI uses uint256. "Backing" is everything slashable: active stake plus queued
///      (cooling-down) withdrawals. Operator commission is kept as claimable PHA, outside the
///      backing.
interface IStaking {
    // ------------------------------------------------------------------ structs

    /// @notice A pool as the views return it (all amounts in PHA wei).
    struct PoolInfo {
        address operator;
        uint16 commissionBps; // commission in force now (a matured pending change included)
        uint16 pendingCommissionBps; // scheduled increase, 0 if none (or already in force)
        uint64 commissionEffectiveAt; // when the pending increase applies, 0 if none
        uint256 activeAssets; // PHA behind active shares
        uint256 totalShares; // active shares
        uint256 queuedAssets; // PHA behind queued withdrawal requests
        uint256 queuedShares; // queue shares of all open requests
        uint256 commissionOwed; // operator's claimable commission (not backing, not slashable)
    }

    /// @notice One withdrawal request of a delegator in a pool.
    struct WithdrawalRequest {
        uint128 queuedShares; // shares of the pool's queue class (0 once withdrawn)
        uint32 unlockAt; // timestamp from which it can be withdrawn
    }

    // ------------------------------------------------------------------ errors

    /// @notice No pool with this id.
    error StakingUnknownPool(uint256 poolId);
    /// @notice Only the pool's operator may do this.
    error StakingNotOperator(uint256 poolId, address caller);
    /// @notice Commission above the hard maximum.
    error StakingCommissionTooHigh(uint256 commissionBps, uint256 maximum);
    /// @notice Delegation below the minimum (dust griefing guard).
    error StakingBelowMinimum(uint256 assets, uint256 minimum);
    /// @notice The amount converts to zero shares (or zero assets) at the current price.
    error StakingZeroShares(uint256 poolId, uint256 amount);
    /// @notice Undelegating more shares than held.
    error StakingInsufficientShares(uint256 poolId, address delegator, uint256 held, uint256 requested);
    /// @notice A partial undelegation would leave a position worth less than the minimum.
    error StakingDustRemainder(uint256 remainingAssets, uint256 minimum);
    /// @notice No open withdrawal request with this id (never made, or already withdrawn).
    error StakingNoSuchRequest(uint256 poolId, address delegator, uint256 requestId);
    /// @notice The request's cooldown is not over.
    error StakingCooldownNotOver(uint256 poolId, uint256 requestId, uint256 unlockAt);
    /// @notice Zero amount where a positive one is required.
    error StakingZeroAmount();
    /// @notice No commission to claim.
    error StakingNothingToClaim(uint256 poolId);
    /// @notice Zero address where an address is required.
    error StakingZeroAddress();
    /// @notice A governance parameter outside its hard bounds.
    error StakingParameterOutOfBounds(uint256 value, uint256 minimum, uint256 maximum);
    /// @notice A pool's amounts would overflow their storage width.
    error StakingOverflow();
    /// @notice No slashed PHA is waiting to be swept.
    error StakingNothingOwed();
    /// @notice Only the worker registry may report workers added or removed.
    error StakingNotRegistry(address caller);
    /// @notice The registry is set once (worker counts belong to it).
    error StakingRegistryAlreadySet(address registry);
    /// @notice The registry given listens to another Staking contract.
    error StakingRegistryMismatch(address registry);
    /// @notice Too many pools in one syncBackings call.
    error StakingBatchTooLarge(uint256 length, uint256 maximum);
    /// @notice A reward ledger given to setRewardLedgers pays another Staking, earns for another
    ///         registry, or is listed twice (or the registry is not set yet).
    error StakingLedgerMismatch(address ledger);
    /// @notice A reward's earning time lies in the future.
    error StakingEarnedInFuture(uint256 earnedAt, uint256 now_);

    // ------------------------------------------------------------------ events

    /// @notice A pool was opened.
    event PoolOpened(uint256 indexed poolId, address indexed operator, uint16 commissionBps);
    /// @notice A commission increase was scheduled; it applies to rewards earned from
    ///         `effectiveAt` (the start of a reward epoch: RewardEpoch, one hour).
    event CommissionChangeScheduled(uint256 indexed poolId, uint16 currentBps, uint16 newBps, uint64 effectiveAt);
    /// @notice The operator changed the commission: a decrease (or no change) in force at once, or
    ///         a scheduled increase cancelled in favour of `newBps` (see CommissionChangeScheduled
    ///         for increases, which take effect by time).
    event CommissionChanged(uint256 indexed poolId, uint16 oldBps, uint16 newBps);
    /// @notice PHA was delegated for shares.
    event Delegated(uint256 indexed poolId, address indexed delegator, uint256 assets, uint256 shares);
    /// @notice Shares were moved into the withdrawal queue.
    event Undelegated(
        uint256 indexed poolId,
        address indexed delegator,
        uint256 requestId,
        uint256 shares,
        uint256 assets,
        uint256 queuedShares,
        uint256 unlockAt
    );
    /// @notice A matured withdrawal request was paid out.
    event Withdrawn(uint256 indexed poolId, address indexed delegator, uint256 requestId, uint256 assets);
    /// @notice A reward was paid into a pool; `commission` of it went to the operator.
    event Rewarded(uint256 indexed poolId, address indexed payer, uint256 amount, uint256 commission);
    /// @notice The operator claimed commission.
    event CommissionClaimed(uint256 indexed poolId, address indexed operator, address to, uint256 amount);
    /// @notice A pool was slashed; the PHA is owed to the treasury (see sweepSlashed).
    event Slashed(
        uint256 indexed poolId,
        address indexed slasher,
        bytes32 indexed evidence,
        uint256 requested,
        uint256 fromActive,
        uint256 fromQueued
    );
    /// @notice The pool's backing started (underBacked) or stopped falling short of
    ///         minStakePerWorker * workers. The registry learns it by a call (stake movements,
    ///         syncBacking) or from workerAdded / workerRemoved's return value.
    event PoolBackingChanged(uint256 indexed poolId, bool underBacked, uint256 backing, uint256 required);
    /// @notice Governance set the contracts whose pool ledgers Staking takes before a change (the
    ///         job escrow, and a former escrow while its ledgers may still fill).
    // slither-disable-next-line unindexed-event-address
    event RewardLedgersSet(address current, address former);
    /// @notice Governance set the worker registry.
    // slither-disable-next-line unindexed-event-address
    event RegistrySet(address registry);
    /// @notice Slashed PHA was paid to the treasury.
    event SlashedSwept(address indexed treasury, uint256 amount);
    /// @notice Governance changed the cooldown.
    event CooldownSet(uint256 cooldown);
    /// @notice Governance changed the commission notice period.
    event CommissionNoticeSet(uint256 notice);
    /// @notice Governance changed the per-slash bound.
    event MaxSlashBpsSet(uint256 maxSlashBps);
    /// @notice Governance changed the minimum stake per worker.
    event MinStakePerWorkerSet(uint256 minStakePerWorker);
    /// @notice Governance changed the treasury.
    // Indexing would move the address from data to topics and change how every consumer decodes
    // the event; governance events are rare and read by scanning the contract's logs anyway.
    // slither-disable-next-line unindexed-event-address
    event TreasurySet(address treasury);

    // ------------------------------------------------------------------ pools and operators

    /// @notice Opens a pool operated by the caller.
    /// @param commissionBps Commission on rewards, at most `MAX_COMMISSION_BPS`.
    /// @return poolId The new pool's id (sequential from 1).
    function openPool(uint16 commissionBps) external returns (uint256 poolId);

    /// @notice Sets the pool's commission. A decrease (or no change) applies at once and cancels
    ///         any scheduled increase; an increase applies after `commissionNotice()`.
    function setCommission(uint256 poolId, uint16 commissionBps) external;

    /// @notice Pays the operator's accrued commission to `to`. Only the operator.
    /// @return amount The PHA paid.
    function claimCommission(uint256 poolId, address to) external returns (uint256 amount);

    // ------------------------------------------------------------------ delegators

    /// @notice Delegates up to `assets` PHA for pool shares: mints the shares `assets` buy (rounded
    ///         down) and pulls only what they cost (rounded up, at most `assets`), so the
    ///         delegator loses at most a wei to rounding whatever the share price. Any pool
    ///         ledger waiting for the pool is paid in first (the delegator buys at the price
    ///         that includes it). The `Delegated` event carries the PHA taken.
    /// @return shares The shares minted.
    function delegate(uint256 poolId, uint256 assets) external returns (uint256 shares);

    /// @notice Like `delegate`, approving with an ERC-2612 permit signed by the caller first.
    ///         A permit already used (front-run) is ignored if the allowance suffices.
    function delegateWithPermit(uint256 poolId, uint256 assets, uint256 deadline, uint8 v, bytes32 r, bytes32 s)
        external
        returns (uint256 shares);

    /// @notice Moves `shares` into the pool's withdrawal queue; they stop earning rewards but
    ///         stay slashable until withdrawn. Withdrawable after the cooldown.
    /// @return requestId The caller's request id in this pool (sequential from 0).
    function undelegate(uint256 poolId, uint256 shares) external returns (uint256 requestId);

    /// @notice Pays out a matured withdrawal request to its delegator (the caller).
    /// @return assets The PHA paid (less than queued if slashed meanwhile).
    function withdraw(uint256 poolId, uint256 requestId) external returns (uint256 assets);

    // ------------------------------------------------------------------ rewards and slashing

    /// @notice Pays `amount` PHA (pulled from the caller) into the pool, earned now: commission to
    ///         the operator at the rate in force now, the rest raises the share price. With no
    ///         active shares the whole amount is commission. Anyone may call it. O(1).
    function reward(uint256 poolId, uint256 amount) external;

    /// @notice `reward` of `amount` earned now plus `ledgerAmount` earned at `ledgerEarnedAt` (a
    ///         pool ledger's opening time: every entry of it was earned in that reward epoch),
    ///         each charged the commission in force when it was earned; one transfer of the sum.
    ///         Anyone may call it (the caller pays). O(1).
    function rewardWithLedger(uint256 poolId, uint256 amount, uint256 ledgerAmount, uint256 ledgerEarnedAt)
        external;

    /// @notice Slashes `min(amount, maxSlashBps * backing)` from the pool, pro rata from active
    ///         and queued stake; the PHA is owed to the treasury (pulled by `sweepSlashed`, so a
    ///         slash moves no tokens). Only SLASHER_ROLE holders and the current reward-ledger
    ///         holder (the job escrow, for missed deadlines; see setRewardLedgers).
    /// @param evidence Hash of the evidence (the fault's record), emitted.
    /// @return slashed The PHA actually taken.
    function slash(uint256 poolId, uint256 amount, bytes32 evidence) external returns (uint256 slashed);

    /// @notice The registry reports a worker registered into the pool. Only the registry.
    /// @return workers The pool's worker count after it.
    /// @return underBacked Whether backing < minStakePerWorker * workers (the registry refuses
    ///         the registration then).
    function workerAdded(uint256 poolId) external returns (uint256 workers, bool underBacked);

    /// @notice The registry reports a worker of the pool deregistered. Only the registry.
    /// @return underBacked The pool's backing flag after it.
    function workerRemoved(uint256 poolId) external returns (bool underBacked);

    /// @notice Re-evaluates a pool's backing flag and tells the registry if it flipped. Anyone may
    ///         call it; needed after governance changes minStakePerWorker, raising or lowering it
    ///         (stake movements re-evaluate it themselves).
    function syncBacking(uint256 poolId) external returns (bool underBacked);

    /// @notice syncBacking for up to MAX_SYNC_BATCH pools (governance bundles it with a change of
    ///         minStakePerWorker; `ape run stake sync-backing --all`).
    function syncBackings(uint256[] calldata poolIds) external;

    /// @notice Pays all slashed PHA owed to the treasury, the one current at the sweep (sweep
    ///         before setTreasury if that matters). Anyone may call it.
    /// @return amount The PHA paid.
    function sweepSlashed() external returns (uint256 amount);

    // ------------------------------------------------------------------ governance

    /// @notice Sets the undelegation cooldown (applies to new requests). Governance only.
    function setCooldown(uint256 cooldown_) external;

    /// @notice Sets the notice period for commission increases. Governance only.
    function setCommissionNotice(uint256 notice) external;

    /// @notice Sets the largest fraction of backing one slash may take. Governance only.
    function setMaxSlashBps(uint256 maxSlashBps_) external;

    /// @notice Sets the minimum backing per worker. Governance only.
    function setMinStakePerWorker(uint256 minStakePerWorker_) external;

    /// @notice Sets where slashed PHA goes. Governance only.
    function setTreasury(address treasury_) external;

    /// @notice Sets the worker registry, once. Governance only.
    function setRegistry(IPoolBackingObserver registry_) external;

    /// @notice Sets the contracts whose pool ledgers Staking takes before any change to who a
    ///         pool's rewards belong to or what commission they pay (zero: none). Each must pay this
    ///         Staking and earn for its registry (set first). Governance only. When replacing the
    ///         escrow, keep the old one as `former` until its last job has ended.
    function setRewardLedgers(address current, address former) external;

    // ------------------------------------------------------------------ views

    /// @notice Number of pools opened (the highest pool id).
    function poolCount() external view returns (uint256);

    /// @notice The pool's operator (zero for an unknown pool).
    function operatorOf(uint256 poolId) external view returns (address);

    /// @notice Everything about a pool. Reverts for an unknown pool.
    function poolInfo(uint256 poolId) external view returns (PoolInfo memory);

    /// @notice Active stake plus queued withdrawals: everything slashable (0 for an unknown pool).
    function backing(uint256 poolId) external view returns (uint256);

    /// @notice Minimum backing per worker.
    function minStakePerWorker() external view returns (uint256);

    /// @notice True if the pool exists and backing >= minStakePerWorker * workerCount.
    function canAddWorker(uint256 poolId, uint256 workerCount) external view returns (bool);

    /// @notice A delegator's active shares in a pool.
    function sharesOf(uint256 poolId, address delegator) external view returns (uint256);

    /// @notice PHA a delegator's active shares would undelegate for now (rounded down).
    function assetsOf(uint256 poolId, address delegator) external view returns (uint256);

    /// @notice Shares `assets` would buy now (rounded down, as `delegate`).
    function convertToShares(uint256 poolId, uint256 assets) external view returns (uint256);

    /// @notice PHA `shares` are worth now (rounded down, as `undelegate`).
    function convertToAssets(uint256 poolId, uint256 shares) external view returns (uint256);

    /// @notice PHA wei per 1 PHA of initial shares (1e18 at a fresh pool; rises with rewards).
    function sharePrice(uint256 poolId) external view returns (uint256);

    /// @notice How many withdrawal requests the delegator has made in the pool (ids 0..n-1).
    function requestCount(uint256 poolId, address delegator) external view returns (uint256);

    /// @notice A withdrawal request and the PHA it is worth now (0 shares once withdrawn).
    function withdrawalRequest(uint256 poolId, address delegator, uint256 requestId)
        external
        view
        returns (WithdrawalRequest memory request, uint256 assets);

    /// @notice Cooldown of new undelegations, in seconds.
    function cooldown() external view returns (uint256);

    /// @notice Notice period of commission increases, in seconds.
    function commissionNotice() external view returns (uint256);

    /// @notice Largest fraction of backing one slash takes, in basis points.
    function maxSlashBps() external view returns (uint256);

    /// @notice Receiver of slashed PHA.
    function treasury() external view returns (address);

    /// @notice The worker registry (zero until set).
    function registry() external view returns (address);

    /// @notice The pool-ledger holders Staking takes from before a change (zero: none).
    function rewardLedgers() external view returns (address current, address former);

    /// @notice The commission rate in force for rewards earned at time `t` (from the last
    ///         commission change on).
    function commissionAt(uint256 poolId, uint256 t) external view returns (uint256);

    /// @notice Workers the registry has registered into the pool.
    function workersOf(uint256 poolId) external view returns (uint256);

    /// @notice Whether backing < minStakePerWorker * workers, as last evaluated: when backing
    ///         falls (withdraw, slash) while it is clear, when backing rises (delegate, reward)
    ///         while it is set, on every registration and deregistration, and by syncBacking
    ///         (needed after a change of minStakePerWorker).
    function isUnderBacked(uint256 poolId) external view returns (bool);

    /// @notice Slashed PHA not yet swept to the treasury.
    function slashedOwed() external view returns (uint256);
}
