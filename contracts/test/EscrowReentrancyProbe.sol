// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {IJobEscrow} from "../interfaces/IJobEscrow.sol";
import {IQuoteVerifier} from "../interfaces/IQuoteVerifier.sol";
import {IWorkerRegistry} from "../interfaces/IWorkerRegistry.sol";

/// @notice TEST ONLY. Stands in for both the registry (everyone eligible in pool 1) and a hostile
///         Staking whose `reward` / `slash` re-enter the escrow with calldata chosen by the test.
contract EscrowReentrancyProbe {
    IJobEscrow public escrow;
    bytes public reentry;

    function setEscrow(IJobEscrow escrow_) external {
        escrow = escrow_;
    }

    function setReentry(bytes calldata data) external {
        reentry = data;
    }

    function check(address, bytes32, IQuoteVerifier.TcbStatus, address)
        external
        pure
        returns (IWorkerRegistry.Reason, uint256)
    {
        return (IWorkerRegistry.Reason.Eligible, 1);
    }

    function rewardWithLedger(uint256, uint256, uint256, uint256) external {
        _reenter();
    }

    function slash(uint256, uint256, bytes32) external returns (uint256) {
        _reenter();
        return 0;
    }

    function _reenter() private {
        (bool ok, bytes memory ret) = address(escrow).call(reentry);
        if (!ok) {
            assembly ("memory-safe") {
                revert(add(ret, 32), mload(ret))
            }
        }
    }
}
