// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {MeasurementId} from "../libraries/MeasurementId.sol";
import {QuoteParser} from "../libraries/QuoteParser.sol";
import {WorkerBinding} from "../libraries/WorkerBinding.sol";

/// @title TestQuoteParser
/// @notice TEST FIXTURE ONLY (never deployed by pha.deploy): exposes the QuoteParser,
///         MeasurementId and WorkerBinding libraries so tests can call them on real quotes.
contract TestQuoteParser {
    /// @notice QuoteParser.parse.
    function parse(bytes calldata quote) external pure returns (QuoteParser.Quote memory) {
        return QuoteParser.parse(quote);
    }

    /// @notice QuoteParser.tdReport of a TDX quote.
    function tdReport(bytes calldata quote) external pure returns (QuoteParser.TdReport memory) {
        return QuoteParser.tdReport(quote, QuoteParser.parse(quote));
    }

    /// @notice QuoteParser.sgxReport of an SGX quote.
    function sgxReport(bytes calldata quote) external pure returns (QuoteParser.SgxReport memory) {
        return QuoteParser.sgxReport(quote, QuoteParser.parse(quote));
    }

    /// @notice MeasurementId.sgx.
    function sgxMeasurementId(bytes32 mrEnclave, bytes32 mrSigner, uint16 isvProdId, uint16 isvSvn)
        external
        pure
        returns (bytes32)
    {
        return MeasurementId.sgx(mrEnclave, mrSigner, isvProdId, isvSvn);
    }

    /// @notice MeasurementId.tdx / tdxWithCompose (compose hash 0: plain).
    function tdxMeasurementId(bytes memory mrTd, bytes memory r0, bytes memory r1, bytes memory r2, bytes32 compose)
        external
        pure
        returns (bytes32)
    {
        if (compose == bytes32(0)) return MeasurementId.tdx(mrTd, r0, r1, r2);
        return MeasurementId.tdxWithCompose(mrTd, r0, r1, r2, compose);
    }

    /// @notice WorkerBinding.binding.
    function binding(uint256 chainId, address registry, address signer, bytes32 encryptionKey, uint256 poolId)
        external
        pure
        returns (bytes32)
    {
        return WorkerBinding.binding(chainId, registry, signer, encryptionKey, poolId);
    }
}
