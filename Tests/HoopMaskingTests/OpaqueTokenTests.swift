import Foundation
import XCTest
@testable import HoopMasking

/// Random identifiers come back as they are (the flake hunt of s46: a UUID's tail read as
/// a phone, a base64 ciphertext's `+Yu` as a surname, a `random()` value's digits as a
/// card, a bytea's hex as a VIN); what sits beside them is still found.
final class OpaqueTokenTests: XCTestCase {
    var rng = SafetyTests.Rng(s: 46)

    func bytes(_ n: Int) -> Data { Data((0..<n).map { _ in UInt8(truncatingIfNeeded: rng.next()) }) }

    func changed(_ values: [String]) -> Int { values.filter { standardMasker.maskText($0).changed }.count }

    func testRandomIdentifiersAreNoIdentifiersOfAnyone() {
        var uuids: [String] = [], blobs: [String] = [], fractions: [String] = [], hex: [String] = []
        for i in 0..<1000 {
            let u = bytes(16).map { String(format: "%02x", $0) }.joined()
            let uuid = [u.prefix(8), u.dropFirst(8).prefix(4), u.dropFirst(12).prefix(4), u.dropFirst(16).prefix(4), u.suffix(12)].joined(separator: "-")
            uuids.append(i % 2 == 0 ? uuid : uuid.uppercased())
            blobs.append(bytes(16 + Int(rng.next() % 200)).base64EncodedString())
            fractions.append("0." + String(rng.next() % 10_000_000_000_000_000).leftPadded(16))
            hex.append("\\x" + bytes(8 + Int(rng.next() % 24)).map { String(format: "%02x", $0) }.joined())
        }
        XCTAssertEqual(changed(uuids), 0, "random UUIDs changed")
        XCTAssertEqual(changed(blobs), 0, "random base64 blobs changed")
        XCTAssertEqual(changed(fractions), 0, "random fractions changed")
        XCTAssertEqual(changed(hex), 0, "random byteas changed")
        XCTAssertEqual(changed(uuids.map { "{\"KeyId\": \"\($0)\", \"Blob\": \"\(blobs[0])\"}" }), 0, "in a document")
        assertClear("3puHcm65fjt5u37WmgouwoK_GgSoGkUq", nil, "an S3 VersionId's shape")
        XCTAssertFalse(OpaqueTokens.isBlob(Array("Jane_Doe_1961_03_14_A1b2".utf8)[...]), "words and numbers joined by _ are no blob")
    }

    /// The rule drops finds inside such a value only: identifiers beside one, in a path
    /// or in words, are found as before.
    func testWhatSitsBesideThemIsStillFound() {
        let uuid = "3f2a9c1e-77b0-4d2e-9a41-df9339741156"
        assertMasked("patient \(uuid) ssn 123-45-6789", "123-45-6789", .ssn, "an SSN beside a UUID")
        assertMasked("call 555-123-4567 about \(uuid)", "555-123-4567", .phone, "a phone beside a UUID")
        assertMasked("score 0.5, card 4111 1111 1111 1111", "4111 1111 1111 1111", nil, "a card beside a fraction")
        assertMasked("/patients/by-dob/1961-03-14/records", "1961-03-14", .date, "a date in a path")
        assertMasked("Contact: jane.doe@example.org tok=\("QUJDREVGR0hJSktMTU5PUA==")", "jane.doe@example.org", .email, "an e-mail beside a blob")
        assertMasked("MRN 48213377 seen", "48213377", nil, "an MRN is no fraction")
        // A find of the whole value has a reason beyond chance (its label): kept (the review of s46).
        assertMasked("Member ID: aB3dE5fG7hJ9kL1m", "aB3dE5fG7hJ9kL1m", nil, "a member id after its label")
        assertMasked("Pacemaker serial: 9F3A0C21B7D4E58A", "9F3A0C21B7D4E58A", nil, "a device serial after its label")
        assertMasked("Accession #: 20A4F19C3B7E5D21", "20A4F19C3B7E5D21", nil, "an accession number after its label")
    }
}

private extension String {
    func leftPadded(_ n: Int) -> String { String(repeating: "0", count: max(0, n - count)) + self }
}
