// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";

import {IAttestationLog} from "./interfaces/IAttestationLog.sol";

/// @title AttestationLog
/// @notice Append-only hash chain of worker attestations and settled results.
/// @dev Invariants:
///      - `count` only grows, by exactly one per entry;
///      - `head` after entry i is keccak256(abi.encode(head before, i, kind, subject, worker,
///        measurement, dataHash, time)) and every entry's event carries the head after it, so a
///        rebuilt chain that disagrees with the stored head pinpoints the first bad event.
///      Only the writers append: the registry (WorkerAttested entries only), the escrow and, while
///      an escrow is being replaced, the former one (ResultSettled entries only); governance
///      (DEFAULT_ADMIN_ROLE) sets them, three distinct addresses. Nothing ever deletes or edits
///      an entry.
contract AttestationLog is IAttestationLog, AccessControl {
    /// @dev The entry count shares a slot with the escrow, the writer that appends on every
    ///      settlement: its append reads one slot for the writer check and the count, and
    ///      writes it back with the head (two slots in all, where a role lookup and a separate
    ///      counter took four).
    struct State {
        uint96 count;
        address escrow;
    }

    bytes32 private _head;
    State private _state;
    address private _registry;
    /// @dev An escrow being retired: it still appends results so its open jobs can be settled.
    address private _formerEscrow;

    /// @param admin Governance: sets the writers.
    constructor(address admin) {
        _grantRole(DEFAULT_ADMIN_ROLE, admin);
    }

    /// @inheritdoc IAttestationLog
    function append(Entry calldata entry) external returns (uint256 index) {
        State memory state = _state;
        _checkWriter(state.escrow, entry.kind);
        index = state.count;
        _head = _link(_head, index, entry);
        // 2^96 entries are out of reach of any chain: the cast cannot truncate.
        _state.count = uint96(index + 1);
    }

    /// @inheritdoc IAttestationLog
    function appendBatch(Entry[] calldata entries) external returns (uint256 firstIndex) {
        State memory state = _state;
        if (entries.length == 0) revert AttestationLogEmptyBatch();
        firstIndex = state.count;
        bytes32 current = _head;
        uint256 n = entries.length;
        for (uint256 i = 0; i < n; ++i) {
            _checkWriter(state.escrow, entries[i].kind);
            current = _link(current, firstIndex + i, entries[i]);
        }
        _head = current;
        // Every entry was emitted by _link with its index and the head after it.
        // slither-disable-next-line events-maths
        _state.count = uint96(firstIndex + n);
    }

    /// @inheritdoc IAttestationLog
    function setWriters(address registry_, address escrow_, address formerEscrow_)
        external
        onlyRole(DEFAULT_ADMIN_ROLE)
    {
        // Zero disables a writer; two roles in one address would let it write either kind.
        if (
            (registry_ != address(0) && (registry_ == escrow_ || registry_ == formerEscrow_))
                || (escrow_ != address(0) && escrow_ == formerEscrow_)
        ) revert AttestationLogWritersNotDistinct();
        // slither-disable-next-line missing-zero-check
        _registry = registry_;
        _state.escrow = escrow_;
        // slither-disable-next-line missing-zero-check
        _formerEscrow = formerEscrow_;
        emit WritersSet(registry_, escrow_, formerEscrow_);
    }

    /// @inheritdoc IAttestationLog
    function head() external view returns (bytes32) {
        return _head;
    }

    /// @inheritdoc IAttestationLog
    function count() external view returns (uint256) {
        return _state.count;
    }

    /// @inheritdoc IAttestationLog
    function registry() external view returns (address) {
        return _registry;
    }

    /// @inheritdoc IAttestationLog
    function escrow() external view returns (address) {
        return _state.escrow;
    }

    /// @inheritdoc IAttestationLog
    function formerEscrow() external view returns (address) {
        return _formerEscrow;
    }

    /// @dev The escrow (or the former one) writes results, the registry attestations; anyone else
    ///      nothing. The current escrow's append reads no other writer slot.
    function _checkWriter(address escrow_, Kind kind) private view {
        bool allowed = kind == Kind.ResultSettled
            ? msg.sender == escrow_ || (msg.sender == _formerEscrow && msg.sender != address(0))
            : msg.sender == _registry;
        if (!allowed) revert AttestationLogUnauthorized(msg.sender);
    }

    /// @dev Computes the next head and emits the entry with it.
    function _link(bytes32 previous, uint256 index, Entry calldata entry) private returns (bytes32 next) {
        uint64 time = uint64(block.timestamp);
        next = keccak256(
            abi.encode(
                previous, index, entry.kind, entry.subject, entry.worker, entry.measurement, entry.dataHash, time
            )
        );
        emit Appended(index, entry.kind, entry.subject, entry.worker, entry.measurement, entry.dataHash, time, next);
    }
}
