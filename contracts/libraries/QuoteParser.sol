// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {IQuoteVerifier} from "../interfaces/IQuoteVerifier.sol";
import {MeasurementId} from "./MeasurementId.sol";

/// @title QuoteParser
/// @notice Parses Intel DCAP quote bytes at fixed offsets: SGX quote v3 (enclave report body),
///         TDX quote v4 (TD 1.0 report body) and TDX quote v5 (6-byte body descriptor, then a
///         TD 1.0 or TD 1.5 body). Nothing else is accepted; every refusal is a custom error.
/// @dev Layout (all integers little-endian, offsets in bytes; see docs/attestation.md):
///      header[48]: version u16 at 0, attestation key type u16 at 2, TEE type u32 at 4 (0 SGX,
///                  0x81 TDX), QE/PCE SVN or reserved at 8, QE vendor id [16] at 12, user data [20] at 28.
///      v5 only:    body type u16 at 48 (2 = TD 1.0, 3 = TD 1.5), body size u32 at 50, body at 54.
///      body:       SGX enclave report [384] or TD report [584] (TD 1.5: [648]).
///      then:       signature data length u32, signature data (verifier-specific contents).
///      A quote may also be given as exactly header (+ descriptor) + body, without the signature
///      section: the committee verifier needs only those bytes on-chain.
///      Never reverts with anything but this library's errors (every slice is length-checked).
library QuoteParser {
    uint256 internal constant HEADER_LENGTH = 48;
    uint256 internal constant V5_DESCRIPTOR_LENGTH = 6;
    uint256 internal constant SGX_REPORT_LENGTH = 384;
    uint256 internal constant TD10_REPORT_LENGTH = 584;
    uint256 internal constant TD15_REPORT_LENGTH = 648;
    uint16 internal constant ATTESTATION_KEY_ECDSA_P256 = 2;
    // Written as the quote header's 4-byte field reads in Intel's specification.
    // slither-disable-next-line too-many-digits
    uint32 internal constant TEE_TYPE_SGX = 0x00000000;
    // slither-disable-next-line too-many-digits
    uint32 internal constant TEE_TYPE_TDX = 0x00000081;
    uint16 internal constant V5_BODY_TD10 = 2;
    uint16 internal constant V5_BODY_TD15 = 3;

    /// @notice The quote is shorter than its header says it must be.
    error QuoteParserTooShort(uint256 length, uint256 needed);
    /// @notice Quote version other than 3 (SGX), 4 or 5 (TDX).
    error QuoteParserUnsupportedVersion(uint16 version);
    /// @notice TEE type not allowed for this version (v3 is SGX only, v4/v5 TDX only).
    error QuoteParserUnsupportedTeeType(uint16 version, uint32 teeType);
    /// @notice Attestation key type other than ECDSA-256-with-P-256 (2).
    error QuoteParserUnsupportedAttestationKeyType(uint16 keyType);
    /// @notice v5 body type other than TD 1.0 (2) or TD 1.5 (3).
    error QuoteParserUnsupportedBodyType(uint16 bodyType);
    /// @notice v5 body size does not match its body type.
    error QuoteParserBodySizeMismatch(uint16 bodyType, uint32 bodySize);
    /// @notice Total length disagrees with the signature data length (trailing or missing bytes).
    error QuoteParserLengthMismatch(uint256 length, uint256 expected);

    /// @notice The parsed core of a quote (what verifiers need).
    /// @param bodyOffset Where the report body starts (48, or 54 for v5).
    /// @param bodyLength 384 (SGX), 584 (TD 1.0) or 648 (TD 1.5).
    /// @param signedLength Header (+ descriptor) + body: the bytes the quote signature covers.
    /// @param hasSignatureData False when the input was exactly the signed part.
    /// @param signatureDataLength The declared signature data length (0 without it).
    struct Quote {
        uint16 version;
        IQuoteVerifier.TeeType teeType;
        uint16 bodyType;
        uint256 bodyOffset;
        uint256 bodyLength;
        uint256 signedLength;
        bool hasSignatureData;
        uint256 signatureDataLength;
        bytes16 attributes;
        bool debug;
        bytes32[2] reportData;
        bytes32 measurementId;
    }

    /// @notice Every field of a TD report body (TD 1.0 fields; TD 1.5 extras left out).
    struct TdReport {
        bytes16 teeTcbSvn;
        bytes mrSeam;
        bytes mrSignerSeam;
        bytes8 seamAttributes;
        bytes8 tdAttributes;
        bytes8 xfam;
        bytes mrTd;
        bytes mrConfigId;
        bytes mrOwner;
        bytes mrOwnerConfig;
        bytes rtMr0;
        bytes rtMr1;
        bytes rtMr2;
        bytes rtMr3;
        bytes reportData;
    }

    /// @notice Every identifying field of an SGX enclave report body.
    struct SgxReport {
        bytes16 cpuSvn;
        bytes4 miscSelect;
        bytes16 attributes;
        bytes32 mrEnclave;
        bytes32 mrSigner;
        uint16 isvProdId;
        uint16 isvSvn;
        bytes reportData;
    }

    // One linear pass over the quote layout (versions, TEE types, body kinds): splitting it would hide the layout.
    // slither-disable-start cyclomatic-complexity
    /// @notice Parse a full quote, or exactly its signed part (header + body).
    function parse(bytes calldata quote) internal pure returns (Quote memory q) {
        uint256 length = quote.length;
        if (length < HEADER_LENGTH) revert QuoteParserTooShort(length, HEADER_LENGTH);
        q.version = _le16(quote, 0);
        uint16 keyType = _le16(quote, 2);
        uint32 teeType = _le32(quote, 4);
        if (q.version != 3 && q.version != 4 && q.version != 5) revert QuoteParserUnsupportedVersion(q.version);
        if (keyType != ATTESTATION_KEY_ECDSA_P256) revert QuoteParserUnsupportedAttestationKeyType(keyType);

        if (q.version == 3) {
            if (teeType != TEE_TYPE_SGX) revert QuoteParserUnsupportedTeeType(q.version, teeType);
            q.teeType = IQuoteVerifier.TeeType.SGX;
            q.bodyOffset = HEADER_LENGTH;
            q.bodyLength = SGX_REPORT_LENGTH;
        } else {
            if (teeType != TEE_TYPE_TDX) revert QuoteParserUnsupportedTeeType(q.version, teeType);
            q.teeType = IQuoteVerifier.TeeType.TDX;
            if (q.version == 4) {
                q.bodyOffset = HEADER_LENGTH;
                q.bodyLength = TD10_REPORT_LENGTH;
            } else {
                uint256 descriptorEnd = HEADER_LENGTH + V5_DESCRIPTOR_LENGTH;
                if (length < descriptorEnd) revert QuoteParserTooShort(length, descriptorEnd);
                q.bodyType = _le16(quote, HEADER_LENGTH);
                uint32 bodySize = _le32(quote, HEADER_LENGTH + 2);
                if (q.bodyType == V5_BODY_TD10) q.bodyLength = TD10_REPORT_LENGTH;
                else if (q.bodyType == V5_BODY_TD15) q.bodyLength = TD15_REPORT_LENGTH;
                else revert QuoteParserUnsupportedBodyType(q.bodyType);
                if (bodySize != q.bodyLength) revert QuoteParserBodySizeMismatch(q.bodyType, bodySize);
                q.bodyOffset = descriptorEnd;
            }
        }
        q.signedLength = q.bodyOffset + q.bodyLength;
        if (length < q.signedLength) revert QuoteParserTooShort(length, q.signedLength);
        if (length != q.signedLength) {
            uint256 sigStart = q.signedLength + 4;
            if (length < sigStart) revert QuoteParserTooShort(length, sigStart);
            q.hasSignatureData = true;
            q.signatureDataLength = _le32(quote, q.signedLength);
            if (length != sigStart + q.signatureDataLength) {
                revert QuoteParserLengthMismatch(length, sigStart + q.signatureDataLength);
            }
        }

        uint256 b = q.bodyOffset;
        if (q.teeType == IQuoteVerifier.TeeType.SGX) {
            q.attributes = bytes16(quote[b + 48:b + 64]);
            q.debug = uint8(quote[b + 48]) & 0x02 != 0; // ATTRIBUTES.FLAGS bit 1 = DEBUG
            q.reportData[0] = bytes32(quote[b + 320:b + 352]);
            q.reportData[1] = bytes32(quote[b + 352:b + 384]);
            q.measurementId = MeasurementId.sgx(
                bytes32(quote[b + 64:b + 96]),
                bytes32(quote[b + 128:b + 160]),
                _le16(quote, b + 256),
                _le16(quote, b + 258)
            );
        } else {
            q.attributes = bytes16(quote[b + 120:b + 136]);
            q.debug = uint8(quote[b + 120]) & 0x01 != 0; // TDATTRIBUTES bit 0 = DEBUG
            q.reportData[0] = bytes32(quote[b + 520:b + 552]);
            q.reportData[1] = bytes32(quote[b + 552:b + 584]);
            q.measurementId = tdxMeasurementId(quote, q, bytes32(0));
        }
    }
    // slither-disable-end cyclomatic-complexity

    /// @notice The TDX measurement id of a parsed TDX quote, with the compose hash when non-zero.
    function tdxMeasurementId(bytes calldata quote, Quote memory q, bytes32 composeHash)
        internal
        pure
        returns (bytes32)
    {
        uint256 b = q.bodyOffset;
        bytes calldata mrTd = quote[b + 136:b + 184];
        if (composeHash == bytes32(0)) {
            return MeasurementId.tdx(mrTd, quote[b + 328:b + 376], quote[b + 376:b + 424], quote[b + 424:b + 472]);
        }
        return MeasurementId.tdxWithCompose(
            mrTd, quote[b + 328:b + 376], quote[b + 376:b + 424], quote[b + 424:b + 472], composeHash
        );
    }

    /// @notice All TD report fields of a parsed TDX quote.
    function tdReport(bytes calldata quote, Quote memory q) internal pure returns (TdReport memory r) {
        uint256 b = q.bodyOffset;
        r.teeTcbSvn = bytes16(quote[b:b + 16]);
        r.mrSeam = quote[b + 16:b + 64];
        r.mrSignerSeam = quote[b + 64:b + 112];
        r.seamAttributes = bytes8(quote[b + 112:b + 120]);
        r.tdAttributes = bytes8(quote[b + 120:b + 128]);
        r.xfam = bytes8(quote[b + 128:b + 136]);
        r.mrTd = quote[b + 136:b + 184];
        r.mrConfigId = quote[b + 184:b + 232];
        r.mrOwner = quote[b + 232:b + 280];
        r.mrOwnerConfig = quote[b + 280:b + 328];
        r.rtMr0 = quote[b + 328:b + 376];
        r.rtMr1 = quote[b + 376:b + 424];
        r.rtMr2 = quote[b + 424:b + 472];
        r.rtMr3 = quote[b + 472:b + 520];
        r.reportData = quote[b + 520:b + 584];
    }

    /// @notice All identifying fields of a parsed SGX quote.
    function sgxReport(bytes calldata quote, Quote memory q) internal pure returns (SgxReport memory r) {
        uint256 b = q.bodyOffset;
        r.cpuSvn = bytes16(quote[b:b + 16]);
        r.miscSelect = bytes4(quote[b + 16:b + 20]);
        r.attributes = bytes16(quote[b + 48:b + 64]);
        r.mrEnclave = bytes32(quote[b + 64:b + 96]);
        r.mrSigner = bytes32(quote[b + 128:b + 160]);
        r.isvProdId = _le16(quote, b + 256);
        r.isvSvn = _le16(quote, b + 258);
        r.reportData = quote[b + 320:b + 384];
    }

    /// @dev Little-endian u16 at `offset`; callers have checked the length.
    function _le16(bytes calldata data, uint256 offset) private pure returns (uint16) {
        return uint16(uint8(data[offset])) | (uint16(uint8(data[offset + 1])) << 8);
    }

    /// @dev Little-endian u32 at `offset`; callers have checked the length.
    function _le32(bytes calldata data, uint256 offset) private pure returns (uint32) {
        return uint32(_le16(data, offset)) | (uint32(_le16(data, offset + 2)) << 16);
    }
}
