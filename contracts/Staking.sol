// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {IERC20Permit} from "@openzeppelin/contracts/token/ERC20/extensions/IERC20Permit.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";
import {Checkpoints} from "@openzeppelin/contracts/utils/structs/Checkpoints.sol";

import {IPoolBackingObserver} from "./interfaces/IPoolBackingObserver.sol";
import {IPoolRewardLedger} from "./interfaces/IPoolRewardLedger.sol";
import {IStakedVotes} from "./interfaces/IStakedVotes.sol";
import {IStaking} from "./interfaces/IStaking.sol";
import {RewardEpoch} from "./libraries/RewardEpoch.sol";
import {ShareMath} from "./libraries/ShareMath.sol";

/// @title Staking
/// @notice Operator pools backing TEE workers. Delegators buy pool shares with PHA; rewards raise
///         the share price in O(1) after the operator's commission; undelegated shares wait in a
///         share-based withdrawal queue for a cooldown, still slashable; slashes take a bounded
///         fraction of active and queued stake pro rata; slashed PHA is owed to the treasury
///         and paid out by `sweepSlashed` (a pull payment: a slash moves no tokens).
/// @dev Invariants (tested by tests/staking/test_invariants.py):
///      1. PHA.balanceOf(this) >= sum over pools of (activeAssets + queuedAssets + commissionOwed)
///         + slashedOwed, with equality unless someone transferred PHA in directly (donations are ignored:
///         all accounting is internal, so a donation cannot move a share price).
///      2. The active price (activeAssets + 1) / (totalShares + 1e3) and the queue price
///         queuedAssets / queuedShares never fall except by a slash.
///      3. queuedShares > 0 implies queuedAssets > 0 (a slash never takes a whole class).
///      4. No loop depends on the number of delegators or requests.
///      5. A reward belongs to the active shares that existed when it was earned, at the
///         commission in force then. Rewards waiting in a pool ledger of the escrow are taken
///         (`_takeLedgers`) before every change of a pool's active shares (delegate,
///         undelegate), of its assets by a slash, of its commission by the operator, and when its
///         last worker leaves (a pool without workers earns nothing new); their commission is the
///         rate in force at the ledger's opening (`_rateAt`: commission increases take effect on
///         the RewardEpoch grid and a ledger holds one epoch).
///      6. A delegation pays at most what its shares are worth plus one wei: only their cost,
///         rounded up, is taken.
///      7. A staker's counted vote units equal the sum of its counted positions' votes, and a
///         delegate's staked-vote checkpoint equals the sum of the units of the stakers delegating
///         to it (docs/governance.md). This contract never delegates its own PHA token votes.
///      Governance is the DEFAULT_ADMIN_ROLE holder; it also holds SLASHER_ROLE from the start
///      and grants it to the job escrow.
contract Staking is IStaking, IStakedVotes, AccessControl, ReentrancyGuardTransient {
    using SafeERC20 for IERC20;
    using Checkpoints for Checkpoints.Trace208;

    // ================================================================ state

    /// @notice Role allowed to slash (the job escrow and governance).
    bytes32 public constant SLASHER_ROLE = keccak256("SLASHER_ROLE");

    /// @notice Hard maximum commission: 50%.
    uint16 public constant MAX_COMMISSION_BPS = 5_000;
    /// @notice Most pools one `syncBackings` call re-evaluates.
    uint256 public constant MAX_SYNC_BATCH = 200;
    /// @notice Smallest delegation, and smallest position a partial undelegation may leave.
    uint256 public constant MIN_DELEGATION = 0.01 ether;
    /// @notice Hard bounds of the cooldown.
    uint256 public constant MIN_COOLDOWN = 1 days;
    uint256 public constant MAX_COOLDOWN = 28 days;
    /// @notice Hard bounds of the commission notice period.
    uint256 public constant MIN_COMMISSION_NOTICE = 1 days;
    uint256 public constant MAX_COMMISSION_NOTICE = 30 days;
    /// @notice Hard maximum of the per-slash bound: half of a pool's backing.
    uint256 public constant MAX_SLASH_BPS_LIMIT = 5_000;
    /// @notice Hard bounds of the minimum stake per worker.
    uint256 public constant MIN_STAKE_PER_WORKER_FLOOR = 1 ether;
    uint256 public constant MIN_STAKE_PER_WORKER_CEILING = 10_000_000 ether;

    /// @notice The reward-epoch grid scheduled commission increases start on (RewardEpoch).
    uint256 public constant REWARD_EPOCH = RewardEpoch.LENGTH;

    uint256 private constant BPS = 10_000;
    /// @dev 1 PHA worth of shares at a fresh pool's price (sharePrice's unit).
    uint256 private constant PRICE_UNIT_SHARES = 1e18 * ShareMath.VIRTUAL_SHARES;

    /// @notice The staked token.
    IERC20 public immutable PHA;

    /// @dev Storage of one pool. Slot 0 is all that `reward` writes.
    struct Pool {
        // slot 0. The commission schedule is never rewritten by time: the rate in force at time t
        // is pendingCommissionBps from commissionEffectiveAt on (when non-zero), commissionBps
        // before (`_rateAt`), so a reward earned before a matured increase and paid later still
        // pays the old rate.
        uint96 activeAssets;
        uint96 commissionOwed;
        uint16 commissionBps;
        uint16 pendingCommissionBps;
        uint32 commissionEffectiveAt; // 0: no scheduled increase
        // slot 1
        address operator; // zero: no such pool
        uint96 queuedAssets;
        // slot 2: backing state shares the slot that delegate, undelegate, withdraw and reward
        // touch anyway. Share totals start at 1e3 shares per wei (< 2^107 for any uint96
        // amount); each slash raises a class's shares per wei by 1 / (1 - fraction), so only
        // extreme repeated slashing (about 147 maximal 10% slashes of one pool, 22 at the 50% hard
        // cap) could reach 2^112: the checked casts then revert (StakingOverflow), never wrap.
        uint112 totalShares;
        uint112 queuedShares;
        uint24 workers; // registered workers (kept by the registry through workerAdded/Removed)
        bool underBacked; // backing < minStakePerWorker * workers, as last evaluated
    }

    /// @dev One delegator's position in one pool (one slot). `votes` is the position's PHA value at
    ///      its last update; it is part of the staker's vote units iff `counted`. Shares fit in
    ///      uint112 (they are part of the pool's totalShares); PHA amounts stay below the capped
    ///      supply (< 2^90); one request per transaction cannot exhaust a uint40 counter.
    struct Delegator {
        uint112 shares;
        uint40 requestCount;
        uint96 votes;
        bool counted;
    }

    /// @dev Who holds a staker's staked votes, and the staker's counted vote units (one slot).
    struct Voter {
        address delegatee;
        uint96 units;
    }

    /// @dev Governance parameters, packed in one slot.
    struct Params {
        uint32 cooldown;
        uint32 commissionNotice;
        uint16 maxSlashBps;
        uint96 minStakePerWorker;
    }

    /// @dev Slashed PHA not yet swept to the treasury (`owed`) and swept so far (`swept`). One
    ///      slot; `swept` keeps it non-zero after a sweep, so the next slash pays a
    ///      non-zero-to-non-zero write. `owed` stays below the capped supply (< 2^90); `swept` is
    ///      cumulative (slashed PHA can come back and be slashed again) and uint128 leaves ample room.
    struct SlashFund {
        uint128 owed;
        uint128 swept;
    }

    Params private _params;
    address private _treasury;
    uint64 private _poolCount;
    SlashFund private _slashFund;
    /// @dev The worker registry: counts workers here and is told when a pool's backing flag flips.
    IPoolBackingObserver private _registry;
    /// @dev Holders of pool ledgers: the escrow, and a former escrow during a replacement. The
    ///      current one and whether there is a former share a slot, so that the common case
    ///      (no replacement under way) reads one slot.
    struct Ledgers {
        IPoolRewardLedger current;
        bool hasFormer;
    }

    Ledgers private _ledgers;
    IPoolRewardLedger private _formerLedger;

    mapping(uint256 poolId => Pool) private _pools;
    mapping(uint256 poolId => mapping(address delegator => Delegator)) private _delegators;
    mapping(uint256 poolId => mapping(address delegator => mapping(uint256 requestId => WithdrawalRequest))) private
        _requests;
    mapping(address staker => Voter) private _voters;
    mapping(address delegatee => Checkpoints.Trace208) private _stakedVoteCheckpoints;

    // ================================================================ constructor

    /// @param pha The PHA token (ERC-20 with ERC-2612 permit).
    /// @param admin Governance: DEFAULT_ADMIN_ROLE and SLASHER_ROLE.
    /// @param treasury_ Receiver of slashed PHA.
    /// @dev Defaults: cooldown 7 days, commission notice 7 days, max slash 10% of backing,
    ///      minimum stake per worker 1,000 PHA.
    constructor(IERC20 pha, address admin, address treasury_) {
        if (address(pha) == address(0) || admin == address(0) || treasury_ == address(0)) {
            revert StakingZeroAddress();
        }
        PHA = pha;
        _grantRole(DEFAULT_ADMIN_ROLE, admin);
        _grantRole(SLASHER_ROLE, admin);
        _params = Params({
            cooldown: 7 days, commissionNotice: 7 days, maxSlashBps: 1_000, minStakePerWorker: 1_000 ether
        });
        _treasury = treasury_;
        emit CooldownSet(7 days);
        emit CommissionNoticeSet(7 days);
        emit MaxSlashBpsSet(1_000);
        emit MinStakePerWorkerSet(1_000 ether);
        emit TreasurySet(treasury_);
    }

    // ================================================================ external: operators

    /// @inheritdoc IStaking
    function openPool(uint16 commissionBps) external returns (uint256 poolId) {
        if (commissionBps > MAX_COMMISSION_BPS) revert StakingCommissionTooHigh(commissionBps, MAX_COMMISSION_BPS);
        unchecked {
            // a uint64 counter incremented by one per transaction cannot wrap
            poolId = ++_poolCount;
        }
        Pool storage p = _pools[poolId];
        p.operator = msg.sender;
        p.commissionBps = commissionBps;
        emit PoolOpened(poolId, msg.sender, commissionBps);
    }

    // Calls here go to the pool-ledger holders and the registry, core contracts set by
    // governance, under this contract's nonReentrant guard (the entry points hold it).
    // slither-disable-start reentrancy-benign,reentrancy-events
    /// @inheritdoc IStaking
    function setCommission(uint256 poolId, uint16 commissionBps) external nonReentrant {
        Pool storage p = _operatorPool(poolId);
        if (commissionBps > MAX_COMMISSION_BPS) revert StakingCommissionTooHigh(commissionBps, MAX_COMMISSION_BPS);
        // Rewards waiting in ledgers were earned under the schedule being replaced.
        _takeLedgers(p, poolId);
        uint16 current = _rateAt(p, block.timestamp);
        p.commissionBps = current;
        if (commissionBps <= current) {
            p.commissionBps = commissionBps;
            p.pendingCommissionBps = 0;
            p.commissionEffectiveAt = 0;
            emit CommissionChanged(poolId, current, commissionBps);
        } else {
            // On the reward-epoch grid, so that no pool ledger (one epoch each) straddles it.
            uint256 effectiveAt = RewardEpoch.ceil(block.timestamp + _params.commissionNotice);
            p.pendingCommissionBps = commissionBps;
            p.commissionEffectiveAt = uint32(_fit(effectiveAt, 32));
            emit CommissionChangeScheduled(poolId, current, commissionBps, uint64(effectiveAt));
        }
    }
    // slither-disable-end reentrancy-benign,reentrancy-events

    /// @inheritdoc IStaking
    function claimCommission(uint256 poolId, address to) external nonReentrant returns (uint256 amount) {
        if (to == address(0)) revert StakingZeroAddress();
        Pool storage p = _operatorPool(poolId);
        amount = p.commissionOwed;
        if (amount == 0) revert StakingNothingToClaim(poolId);
        p.commissionOwed = 0;
        _pay(to, amount);
        emit CommissionClaimed(poolId, msg.sender, to, amount);
    }

    // ================================================================ external: delegators

    /// @inheritdoc IStaking
    function delegate(uint256 poolId, uint256 assets) external nonReentrant returns (uint256 shares) {
        return _delegate(poolId, assets);
    }

    // State written after the permit call: the permit goes to the immutable PHA token (no hooks,
    // nothing to re-enter through), and the function is nonReentrant.
    // slither-disable-start reentrancy-benign
    /// @inheritdoc IStaking
    function delegateWithPermit(uint256 poolId, uint256 assets, uint256 deadline, uint8 v, bytes32 r, bytes32 s)
        external
        nonReentrant
        returns (uint256 shares)
    {
        // A front-runner may spend the permit first; then the allowance it set is what counts.
        try IERC20Permit(address(PHA)).permit(msg.sender, address(this), assets, deadline, v, r, s) {} catch {}
        return _delegate(poolId, assets);
    }
    // slither-disable-end reentrancy-benign

    // Calls here go to the pool-ledger holders and the registry, core contracts set by
    // governance, under this contract's nonReentrant guard (the entry points hold it).
    // slither-disable-start reentrancy-benign,reentrancy-events
    /// @inheritdoc IStaking
    function undelegate(uint256 poolId, uint256 shares) external nonReentrant returns (uint256 requestId) {
        if (shares == 0) revert StakingZeroAmount();
        Pool storage p = _existingPool(poolId);
        _takeLedgers(p, poolId); // the leaver's share of waiting rewards leaves with it
        Delegator storage d = _delegators[poolId][msg.sender];
        uint256 held = d.shares;
        if (shares > held) revert StakingInsufficientShares(poolId, msg.sender, held, shares);

        uint256 activeAssets = p.activeAssets;
        uint256 totalShares = p.totalShares;
        uint256 assets = ShareMath.toAssets(shares, activeAssets, totalShares);
        if (assets == 0) revert StakingZeroShares(poolId, shares);
        unchecked {
            // toAssets(shares) <= activeAssets * shares / totalShares <= activeAssets; shares <= held <= totalShares
            activeAssets -= assets;
            totalShares -= shares;
            held -= shares;
        }
        if (held != 0) {
            uint256 left = ShareMath.toAssets(held, activeAssets, totalShares);
            if (left < MIN_DELEGATION) revert StakingDustRemainder(left, MIN_DELEGATION);
        }

        uint256 queuedAssets = p.queuedAssets;
        uint256 queuedShares = p.queuedShares;
        uint256 q = ShareMath.toQueueShares(assets, queuedAssets, queuedShares);
        if (q == 0) revert StakingZeroShares(poolId, shares);

        p.activeAssets = uint96(activeAssets); // decreased: fits
        p.totalShares = uint112(totalShares); // decreased: fits
        p.queuedAssets = uint96(_fit(queuedAssets + assets, 96));
        p.queuedShares = uint112(_fit(queuedShares + q, 112));

        requestId = d.requestCount;
        d.shares = uint112(held); // decreased: fits
        unchecked {
            // one request per transaction: a uint40 counter cannot wrap
            d.requestCount = uint40(requestId + 1);
        }
        _updateVotes(d, msg.sender, ShareMath.toAssets(held, activeAssets, totalShares), false);
        uint256 unlockAt = block.timestamp + _params.cooldown;
        _requests[poolId][msg.sender][requestId] = WithdrawalRequest({queuedShares: uint128(q), unlockAt: uint32(_fit(unlockAt, 32))});
        emit Undelegated(poolId, msg.sender, requestId, shares, assets, q, unlockAt);
    }
    // slither-disable-end reentrancy-benign,reentrancy-events

    /// @inheritdoc IStaking
    function withdraw(uint256 poolId, uint256 requestId) external nonReentrant returns (uint256 assets) {
        WithdrawalRequest storage request = _requests[poolId][msg.sender][requestId];
        uint256 q = request.queuedShares;
        if (q == 0) revert StakingNoSuchRequest(poolId, msg.sender, requestId);
        uint256 unlockAt = request.unlockAt;
        if (block.timestamp < unlockAt) revert StakingCooldownNotOver(poolId, requestId, unlockAt);

        Pool storage p = _pools[poolId];
        uint256 queuedAssets = p.queuedAssets;
        uint256 queuedShares = p.queuedShares;
        assets = ShareMath.toQueueAssets(q, queuedAssets, queuedShares);
        unchecked {
            // q <= queuedShares (it is part of them) and assets <= queuedAssets * q / queuedShares
            p.queuedAssets = uint96(queuedAssets - assets);
            p.queuedShares = uint112(queuedShares - q);
        }
        delete _requests[poolId][msg.sender][requestId];
        if (!p.underBacked) _syncBacking(p, poolId); // backing fell: it may no longer cover the workers
        if (assets != 0) _pay(msg.sender, assets);
        emit Withdrawn(poolId, msg.sender, requestId, assets);
    }

    // ================================================================ external: rewards and slashing

    /// @inheritdoc IStaking
    function reward(uint256 poolId, uint256 amount) external nonReentrant {
        _reward(poolId, amount, 0, 0);
    }

    /// @inheritdoc IStaking
    function rewardWithLedger(uint256 poolId, uint256 amount, uint256 ledgerAmount, uint256 ledgerEarnedAt)
        external
        nonReentrant
    {
        if (ledgerEarnedAt > block.timestamp) revert StakingEarnedInFuture(ledgerEarnedAt, block.timestamp);
        _reward(poolId, amount, ledgerAmount, ledgerEarnedAt);
    }

    // Calls here go to the pool-ledger holders and the registry, core contracts set by
    // governance, under this contract's nonReentrant guard (the entry points hold it).
    // slither-disable-start reentrancy-benign,reentrancy-events
    /// @inheritdoc IStaking
    function slash(uint256 poolId, uint256 amount, bytes32 evidence)
        external
        nonReentrant
        returns (uint256 slashed)
    {
        // The current ledger holder (the job escrow) slashes for missed deadlines; anyone else
        // needs SLASHER_ROLE. The holder's slot is read for the ledgers anyway, so the escrow's
        // slash pays no role lookup.
        if (msg.sender != address(_ledgers.current)) _checkRole(SLASHER_ROLE);
        Pool storage p = _existingPool(poolId);
        _takeLedgers(p, poolId); // rewards earned before the slash are slashed with the stake
        uint256 activeAssets = p.activeAssets;
        uint256 queuedAssets = p.queuedAssets;
        uint256 total = activeAssets + queuedAssets;
        uint256 fromActive = 0;
        uint256 fromQueued = 0;
        if (total != 0) {
            uint256 cap = total * _params.maxSlashBps / BPS;
            uint256 take = amount < cap ? amount : cap;
            // Dividing before multiplying is the rule here, not an accident: the cap is rounded
            // down first (a slash never exceeds maxSlashBps), then split pro rata, rounding down.
            // slither-disable-start divide-before-multiply
            // Both parts round down, so each is at most maxSlashBps (< 100%) of its class and
            // neither class is ever emptied while it still has shares.
            fromActive = take * activeAssets / total;
            fromQueued = take * queuedAssets / total;
            // slither-disable-end divide-before-multiply
            unchecked {
                // each part <= take * class / total <= class
                p.activeAssets = uint96(activeAssets - fromActive);
                p.queuedAssets = uint96(queuedAssets - fromQueued);
            }
            slashed = fromActive + fromQueued;
            // Below the capped supply: the cast cannot truncate.
            _slashFund.owed += uint128(slashed);
            if (!p.underBacked) _syncBacking(p, poolId);
        }
        emit Slashed(poolId, msg.sender, evidence, amount, fromActive, fromQueued);
    }
    // slither-disable-end reentrancy-benign,reentrancy-events

    /// @inheritdoc IStaking
    function sweepSlashed() external nonReentrant returns (uint256 amount) {
        SlashFund memory fund = _slashFund;
        amount = fund.owed;
        if (amount == 0) revert StakingNothingOwed();
        _slashFund = SlashFund({owed: 0, swept: fund.swept + uint128(amount)});
        address to = _treasury;
        emit SlashedSwept(to, amount);
        _pay(to, amount);
    }

    // ================================================================ external: votes

    /// @inheritdoc IStakedVotes
    function delegateStakedVotes(address delegatee, uint256[] calldata poolIds) external {
        uint256 n = poolIds.length;
        if (n > MAX_SYNC_BATCH) revert StakingBatchTooLarge(n, MAX_SYNC_BATCH);
        Voter storage v = _voters[msg.sender];
        address previous = v.delegatee;
        uint256 units = v.units;
        v.delegatee = delegatee;
        emit StakedVotesDelegated(msg.sender, previous, delegatee);
        if (previous != delegatee) {
            _moveStakedVotes(previous, units, false);
            _moveStakedVotes(delegatee, units, true);
        }
        for (uint256 i = 0; i < n; ++i) {
            _syncVotes(poolIds[i], msg.sender, true);
        }
    }

    /// @inheritdoc IStakedVotes
    function syncVotes(uint256 poolId, address staker) external {
        _syncVotes(poolId, staker, false);
    }

    // ================================================================ restricted: governance

    /// @inheritdoc IStaking
    function setCooldown(uint256 cooldown_) external onlyRole(DEFAULT_ADMIN_ROLE) {
        _checkBounds(cooldown_, MIN_COOLDOWN, MAX_COOLDOWN);
        _params.cooldown = uint32(cooldown_);
        emit CooldownSet(cooldown_);
    }

    /// @inheritdoc IStaking
    function setCommissionNotice(uint256 notice) external onlyRole(DEFAULT_ADMIN_ROLE) {
        _checkBounds(notice, MIN_COMMISSION_NOTICE, MAX_COMMISSION_NOTICE);
        _params.commissionNotice = uint32(notice);
        emit CommissionNoticeSet(notice);
    }

    /// @inheritdoc IStaking
    function setMaxSlashBps(uint256 maxSlashBps_) external onlyRole(DEFAULT_ADMIN_ROLE) {
        _checkBounds(maxSlashBps_, 0, MAX_SLASH_BPS_LIMIT);
        _params.maxSlashBps = uint16(maxSlashBps_);
        emit MaxSlashBpsSet(maxSlashBps_);
    }

    /// @inheritdoc IStaking
    function setMinStakePerWorker(uint256 minStakePerWorker_) external onlyRole(DEFAULT_ADMIN_ROLE) {
        _checkBounds(minStakePerWorker_, MIN_STAKE_PER_WORKER_FLOOR, MIN_STAKE_PER_WORKER_CEILING);
        _params.minStakePerWorker = uint96(minStakePerWorker_);
        emit MinStakePerWorkerSet(minStakePerWorker_);
    }

    /// @inheritdoc IStaking
    function setTreasury(address treasury_) external onlyRole(DEFAULT_ADMIN_ROLE) {
        if (treasury_ == address(0)) revert StakingZeroAddress();
        _treasury = treasury_;
        emit TreasurySet(treasury_);
    }

    /// @inheritdoc IStaking
    function setRegistry(IPoolBackingObserver registry_) external onlyRole(DEFAULT_ADMIN_ROLE) {
        if (address(registry_) == address(0)) revert StakingZeroAddress();
        // Worker counts belong to one registry: switching would leave them meaningless.
        if (address(_registry) != address(0)) revert StakingRegistryAlreadySet(address(_registry));
        // Set once and never replaceable: a registry wired to another Staking would make
        // registrations impossible for good.
        if (_stakingOf(address(registry_)) != address(this)) revert StakingRegistryMismatch(address(registry_));
        _registry = registry_;
        emit RegistrySet(address(registry_));
    }

    /// @inheritdoc IStaking
    function setRewardLedgers(address current, address former) external onlyRole(DEFAULT_ADMIN_ROLE) {
        if (current != address(0) && current == former) revert StakingLedgerMismatch(former);
        _checkLedger(IPoolRewardLedger(current));
        _checkLedger(IPoolRewardLedger(former));
        _ledgers = Ledgers({current: IPoolRewardLedger(current), hasFormer: former != address(0)});
        _formerLedger = IPoolRewardLedger(former);
        emit RewardLedgersSet(current, former);
    }

    // ================================================================ restricted: registry

    /// @inheritdoc IStaking
    function workerAdded(uint256 poolId) external returns (uint256 workers, bool underBacked) {
        _onlyRegistry();
        Pool storage p = _existingPool(poolId);
        workers = uint256(p.workers) + 1;
        p.workers = uint24(_fit(workers, 24));
        (underBacked,) = _evaluate(p, poolId);
    }

    /// @inheritdoc IStaking
    function workerRemoved(uint256 poolId) external returns (bool underBacked) {
        _onlyRegistry();
        Pool storage p = _existingPool(poolId);
        // The last worker leaving: nothing new can enter the pool's ledgers, so take them now
        // (the shares then change without looking at the ledgers, see _takeLedgers).
        if (p.workers == 1) _takeLedgers(p, poolId);
        // The registry removes only workers it added: the count is at least one.
        p.workers -= 1;
        (underBacked,) = _evaluate(p, poolId);
    }

    // ================================================================ external: anyone

    /// @inheritdoc IStaking
    function syncBacking(uint256 poolId) external returns (bool underBacked) {
        return _syncBacking(_existingPool(poolId), poolId);
    }

    /// @inheritdoc IStaking
    function syncBackings(uint256[] calldata poolIds) external {
        uint256 n = poolIds.length;
        if (n > MAX_SYNC_BATCH) revert StakingBatchTooLarge(n, MAX_SYNC_BATCH);
        for (uint256 i = 0; i < n; ++i) {
            _syncBacking(_existingPool(poolIds[i]), poolIds[i]);
        }
    }

    // ================================================================ views

    /// @inheritdoc IStaking
    function poolCount() external view returns (uint256) {
        return _poolCount;
    }

    /// @inheritdoc IStaking
    function operatorOf(uint256 poolId) external view returns (address) {
        return _pools[poolId].operator;
    }

    /// @inheritdoc IStaking
    function poolInfo(uint256 poolId) external view returns (PoolInfo memory info) {
        Pool storage p = _existingPool(poolId);
        info.operator = p.operator;
        info.commissionBps = _rateAt(p, block.timestamp);
        if (p.commissionEffectiveAt > block.timestamp) {
            info.pendingCommissionBps = p.pendingCommissionBps;
            info.commissionEffectiveAt = p.commissionEffectiveAt;
        }
        info.activeAssets = p.activeAssets;
        info.totalShares = p.totalShares;
        info.queuedAssets = p.queuedAssets;
        info.queuedShares = p.queuedShares;
        info.commissionOwed = p.commissionOwed;
    }

    /// @inheritdoc IStaking
    function backing(uint256 poolId) public view returns (uint256) {
        Pool storage p = _pools[poolId];
        return uint256(p.activeAssets) + p.queuedAssets;
    }

    /// @inheritdoc IStaking
    function minStakePerWorker() external view returns (uint256) {
        return _params.minStakePerWorker;
    }

    /// @inheritdoc IStaking
    function canAddWorker(uint256 poolId, uint256 workerCount) external view returns (bool) {
        if (_pools[poolId].operator == address(0)) return false;
        return backing(poolId) >= uint256(_params.minStakePerWorker) * workerCount;
    }

    /// @inheritdoc IStaking
    function sharesOf(uint256 poolId, address delegator) external view returns (uint256) {
        return _delegators[poolId][delegator].shares;
    }

    /// @inheritdoc IStaking
    function assetsOf(uint256 poolId, address delegator) external view returns (uint256) {
        return convertToAssets(poolId, _delegators[poolId][delegator].shares);
    }

    /// @inheritdoc IStaking
    function convertToShares(uint256 poolId, uint256 assets) external view returns (uint256) {
        Pool storage p = _pools[poolId];
        return ShareMath.toShares(assets, p.activeAssets, p.totalShares);
    }

    /// @inheritdoc IStaking
    function convertToAssets(uint256 poolId, uint256 shares) public view returns (uint256) {
        Pool storage p = _pools[poolId];
        return ShareMath.toAssets(shares, p.activeAssets, p.totalShares);
    }

    /// @inheritdoc IStaking
    function sharePrice(uint256 poolId) external view returns (uint256) {
        return convertToAssets(poolId, PRICE_UNIT_SHARES);
    }

    /// @inheritdoc IStaking
    function requestCount(uint256 poolId, address delegator) external view returns (uint256) {
        return _delegators[poolId][delegator].requestCount;
    }

    /// @inheritdoc IStaking
    function withdrawalRequest(uint256 poolId, address delegator, uint256 requestId)
        external
        view
        returns (WithdrawalRequest memory request, uint256 assets)
    {
        request = _requests[poolId][delegator][requestId];
        Pool storage p = _pools[poolId];
        assets = ShareMath.toQueueAssets(request.queuedShares, p.queuedAssets, p.queuedShares);
    }

    /// @inheritdoc IStaking
    function cooldown() external view returns (uint256) {
        return _params.cooldown;
    }

    /// @inheritdoc IStaking
    function commissionNotice() external view returns (uint256) {
        return _params.commissionNotice;
    }

    /// @inheritdoc IStaking
    function maxSlashBps() external view returns (uint256) {
        return _params.maxSlashBps;
    }

    /// @inheritdoc IStaking
    function treasury() external view returns (address) {
        return _treasury;
    }

    /// @inheritdoc IStaking
    function registry() external view returns (address) {
        return address(_registry);
    }

    /// @inheritdoc IStaking
    function rewardLedgers() external view returns (address current, address former) {
        return (address(_ledgers.current), address(_formerLedger));
    }

    /// @inheritdoc IStaking
    function commissionAt(uint256 poolId, uint256 t) external view returns (uint256) {
        return _rateAt(_existingPool(poolId), t);
    }

    /// @inheritdoc IStaking
    function workersOf(uint256 poolId) external view returns (uint256) {
        return _pools[poolId].workers;
    }

    /// @inheritdoc IStaking
    function isUnderBacked(uint256 poolId) external view returns (bool) {
        return _pools[poolId].underBacked;
    }

    /// @inheritdoc IStaking
    function slashedOwed() external view returns (uint256) {
        return _slashFund.owed;
    }

    /// @inheritdoc IStakedVotes
    function stakedVotesDelegate(address staker) external view returns (address) {
        return _voters[staker].delegatee;
    }

    /// @inheritdoc IStakedVotes
    function stakedVoteUnits(address staker) external view returns (uint256) {
        return _voters[staker].units;
    }

    /// @inheritdoc IStakedVotes
    function positionVotes(uint256 poolId, address staker) external view returns (uint256 votes, bool counted) {
        Delegator storage d = _delegators[poolId][staker];
        return (d.votes, d.counted);
    }

    /// @inheritdoc IStakedVotes
    function getStakedVotes(address account) external view returns (uint256) {
        return _stakedVoteCheckpoints[account].latest();
    }

    /// @inheritdoc IStakedVotes
    function getPastStakedVotes(address account, uint256 timepoint) external view returns (uint256) {
        uint48 now_ = clock();
        if (timepoint >= now_) revert StakingVotesFutureLookup(timepoint, now_);
        // timepoint < clock() < 2^48: the cast cannot truncate
        return _stakedVoteCheckpoints[account].upperLookupRecent(uint48(timepoint));
    }

    /// @inheritdoc IStakedVotes
    function clock() public view returns (uint48) {
        return uint48(block.number);
    }

    /// @inheritdoc IStakedVotes
    // solhint-disable-next-line func-name-mixedcase
    function CLOCK_MODE() external pure returns (string memory) {
        return "mode=blocknumber&from=default";
    }

    // ================================================================ internal

    // Calls here go to the pool-ledger holders and the registry, core contracts set by
    // governance, under this contract's nonReentrant guard (the entry points hold it).
    // slither-disable-start reentrancy-benign,reentrancy-events
    function _delegate(uint256 poolId, uint256 assets) private returns (uint256 shares) {
        if (assets < MIN_DELEGATION) revert StakingBelowMinimum(assets, MIN_DELEGATION);
        Pool storage p = _existingPool(poolId);
        _takeLedgers(p, poolId); // the newcomer buys at the price with waiting rewards in it
        uint256 activeAssets = p.activeAssets;
        uint256 totalShares = p.totalShares;
        shares = ShareMath.toShares(assets, activeAssets, totalShares);
        if (shares == 0) revert StakingZeroShares(poolId, assets);
        // What the shares cost, rounded up: at most `assets`, and the price never falls.
        assets = ShareMath.toAssetsUp(shares, activeAssets, totalShares);
        p.activeAssets = uint96(_fit(activeAssets + assets, 96));
        p.totalShares = uint112(_fit(totalShares + shares, 112));
        Delegator storage d = _delegators[poolId][msg.sender];
        // a delegator's shares are part of totalShares, which fit in uint112 (checked above)
        uint256 held = uint256(d.shares) + shares;
        d.shares = uint112(held);
        _updateVotes(
            d, msg.sender, ShareMath.toAssets(held, activeAssets + assets, totalShares + shares), false
        );
        if (p.underBacked) _syncBacking(p, poolId);
        _pull(msg.sender, assets);
        emit Delegated(poolId, msg.sender, assets, shares);
    }
    // slither-disable-end reentrancy-benign,reentrancy-events

    /// @dev Sets position `d` of `staker` to `votes` PHA of votes if it is counted, if the staker has
    ///      a vote delegate, or if `force`; the staker's units and its delegate's checkpoint follow.
    ///      A staker that never delegated its staked votes pays one slot read here.
    function _updateVotes(Delegator storage d, address staker, uint256 votes, bool force) private {
        Voter storage v = _voters[staker];
        address delegatee = v.delegatee;
        bool counted = d.counted;
        if (!counted && !force && delegatee == address(0)) return;
        uint256 old = counted ? d.votes : 0;
        // a position's value is below the capped supply (< 2^90): the casts cannot truncate
        d.votes = uint96(votes);
        d.counted = true;
        if (votes == old) return;
        v.units = uint96(uint256(v.units) + votes - old);
        if (votes > old) _moveStakedVotes(delegatee, votes - old, true);
        else _moveStakedVotes(delegatee, old - votes, false);
    }

    function _syncVotes(uint256 poolId, address staker, bool force) private {
        Pool storage p = _existingPool(poolId);
        Delegator storage d = _delegators[poolId][staker];
        _updateVotes(d, staker, ShareMath.toAssets(d.shares, p.activeAssets, p.totalShares), force);
    }

    /// @dev Adds (or removes) `amount` staked votes to `delegatee`'s checkpoints (none for zero).
    function _moveStakedVotes(address delegatee, uint256 amount, bool add) private {
        if (delegatee == address(0) || amount == 0) return;
        Checkpoints.Trace208 storage ckpts = _stakedVoteCheckpoints[delegatee];
        uint256 previous = ckpts.latest();
        uint256 next = add ? previous + amount : previous - amount;
        // below the capped supply (< 2^90): the cast cannot truncate. push returns the old and
        // new values, both already known here.
        // slither-disable-next-line unused-return
        ckpts.push(clock(), uint208(next));
        emit StakedVotesChanged(delegatee, previous, next);
    }

    /// @dev `amount` earned now and `ledgerAmount` earned at `ledgerEarnedAt`, pulled from the caller.
    function _reward(uint256 poolId, uint256 amount, uint256 ledgerAmount, uint256 ledgerEarnedAt) private {
        uint256 total = amount + ledgerAmount;
        if (total == 0) revert StakingZeroAmount();
        Pool storage p = _existingPool(poolId);
        if (ledgerAmount != 0) _credit(p, poolId, msg.sender, ledgerAmount, _rateAt(p, ledgerEarnedAt));
        if (amount != 0) _credit(p, poolId, msg.sender, amount, _rateAt(p, block.timestamp));
        _pull(msg.sender, total);
    }

    /// @dev The commission in force for a reward earned at `t` (t at or after the last change).
    function _rateAt(Pool storage p, uint256 t) private view returns (uint16) {
        uint256 effectiveAt = p.commissionEffectiveAt;
        return effectiveAt != 0 && t >= effectiveAt ? p.pendingCommissionBps : p.commissionBps;
    }

    // Calls here go to the pool-ledger holders and the registry, core contracts set by
    // governance, under this contract's nonReentrant guard (the entry points hold it).
    // slither-disable-start reentrancy-benign,reentrancy-events
    /// @dev Books `amount` PHA paid by `payer` (the caller moves the tokens) into the pool at `bps` commission.
    function _credit(Pool storage p, uint256 poolId, address payer, uint256 amount, uint256 bps) private {
        // Rule for a pool without active shares: the whole reward is the operator's (it ran
        // the workers); it is neither lost nor left for the next delegator to take.
        uint256 commission = p.totalShares == 0 ? amount : amount * bps / BPS;
        p.activeAssets = uint96(_fit(uint256(p.activeAssets) + (amount - commission), 96));
        p.commissionOwed = uint96(_fit(uint256(p.commissionOwed) + commission, 96));
        if (p.underBacked) _syncBacking(p, poolId); // backing rose: it may cover the workers again
        emit Rewarded(poolId, payer, amount, commission);
    }
    // slither-disable-end reentrancy-benign,reentrancy-events

    // Calls here go to the pool-ledger holders and the registry, core contracts set by
    // governance, under this contract's nonReentrant guard (the entry points hold it).
    // slither-disable-start reentrancy-benign,reentrancy-events
    /// @dev Pays in every pool ledger waiting for the pool (see invariant 5). Only a pool with
    ///      workers can have one: settlements need a registered worker of the pool, and the
    ///      last worker's removal takes the ledgers. Callers are nonReentrant; the holders are
    ///      core contracts set by governance, called at most twice.
    function _takeLedgers(Pool storage p, uint256 poolId) private {
        if (p.workers == 0) return;
        Ledgers memory ledgers = _ledgers;
        _takeLedger(p, poolId, ledgers.current);
        if (ledgers.hasFormer) _takeLedger(p, poolId, _formerLedger);
    }
    // slither-disable-end reentrancy-benign,reentrancy-events

    // Calls here go to the pool-ledger holders and the registry, core contracts set by
    // governance, under this contract's nonReentrant guard (the entry points hold it).
    // slither-disable-start reentrancy-benign,reentrancy-events
    function _takeLedger(Pool storage p, uint256 poolId, IPoolRewardLedger holder) private {
        if (address(holder) == address(0)) return;
        (uint256 amount, uint256 earnedAt) = holder.takePoolLedger(poolId);
        if (amount == 0) return;
        _credit(p, poolId, address(holder), amount, _rateAt(p, earnedAt));
        _pull(address(holder), amount);
    }
    // slither-disable-end reentrancy-benign,reentrancy-events

    /// @dev The Staking contract a registry or ledger holder is wired to (both expose STAKING()).
    function _stakingOf(address wired) private view returns (address) {
        return address(IPoolBackingObserver(wired).STAKING());
    }

    function _checkLedger(IPoolRewardLedger holder) private view {
        if (address(holder) == address(0)) return;
        if (
            address(_registry) == address(0) || _stakingOf(address(holder)) != address(this)
                || address(holder.REGISTRY()) != address(_registry)
        ) revert StakingLedgerMismatch(address(holder));
    }

    /// @dev Re-evaluates and records the pool's backing flag: under = backing < minStakePerWorker
    ///      * workers. Returns it and whether it changed.
    function _evaluate(Pool storage p, uint256 poolId) private returns (bool under, bool changed) {
        uint256 required = uint256(_params.minStakePerWorker) * p.workers;
        uint256 held = uint256(p.activeAssets) + p.queuedAssets;
        under = held < required;
        changed = under != p.underBacked;
        if (changed) {
            p.underBacked = under;
            emit PoolBackingChanged(poolId, under, held, required);
        }
    }

    function _onlyRegistry() private view {
        if (msg.sender != address(_registry)) revert StakingNotRegistry(msg.sender);
    }

    function _existingPool(uint256 poolId) private view returns (Pool storage p) {
        p = _pools[poolId];
        if (p.operator == address(0)) revert StakingUnknownPool(poolId);
    }

    function _operatorPool(uint256 poolId) private view returns (Pool storage p) {
        p = _existingPool(poolId);
        if (p.operator != msg.sender) revert StakingNotOperator(poolId, msg.sender);
    }

    function _checkBounds(uint256 value, uint256 minimum, uint256 maximum) private pure {
        if (value < minimum || value > maximum) revert StakingParameterOutOfBounds(value, minimum, maximum);
    }

    function _pay(address to, uint256 amount) private {
        PHA.safeTransfer(to, amount);
    }

    /// @dev Takes `amount` PHA from `from` into this contract. `from` is never free caller input:
    ///      it is msg.sender (who approved this contract) or a ledger holder set by governance
    ///      that approved this contract and reported `amount` as the pool's share it holds.
    function _pull(address from, uint256 amount) private {
        // slither-disable-next-line arbitrary-send-erc20
        PHA.safeTransferFrom(from, address(this), amount);
    }

    /// @dev `x` if it fits in `bits` bits (the caller casts it); reverts StakingOverflow otherwise.
    function _fit(uint256 x, uint256 bits) private pure returns (uint256) {
        if (x >> bits != 0) revert StakingOverflow();
        return x;
    }

    /// @dev Re-evaluates the pool's backing flag; on a change, also tells the registry (a core
    ///      contract of this stack, set once by governance, that only stores the flag).
    function _syncBacking(Pool storage p, uint256 poolId) private returns (bool under) {
        bool changed;
        (under, changed) = _evaluate(p, poolId);
        IPoolBackingObserver observer = _registry;
        // In syncBackings this runs in a loop bounded by MAX_SYNC_BATCH; the callee is the
        // registry set once by governance, which only stores the flag.
        // slither-disable-next-line calls-loop
        if (changed && address(observer) != address(0)) observer.poolBackingChanged(poolId, under);
    }
}
