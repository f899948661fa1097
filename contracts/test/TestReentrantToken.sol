// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";

/// @title TestReentrantToken
/// @notice TEST FIXTURE ONLY (tests/staking/test_attacks.py): an ERC-20 whose transfers call back
///         into a target with attacker-chosen calldata, to prove the staking contract's
///         reentrancy guard. Never deploy it anywhere else.
contract TestReentrantToken is ERC20 {
    address public target;
    bytes public payload;
    bool public lastCallbackReverted;
    bytes public lastRevertData;
    bool private _inCallback;

    constructor() ERC20("Test Reentrant", "TRE") {}

    /// @notice Mints to anyone (test fixture).
    function mint(address to, uint256 amount) external {
        _mint(to, amount);
    }

    /// @notice Arms the callback: every later transfer calls `target_` with `payload_` once.
    function arm(address target_, bytes calldata payload_) external {
        target = target_;
        payload = payload_;
    }

    function _update(address from, address to, uint256 value) internal override {
        super._update(from, to, value);
        if (target != address(0) && !_inCallback) {
            _inCallback = true;
            (bool ok, bytes memory data) = target.call(payload);
            lastCallbackReverted = !ok;
            lastRevertData = data;
            _inCallback = false;
        }
    }
}
