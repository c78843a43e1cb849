import CZlib
import Foundation
import XCTest
@testable import HoopMasking

/// Bytes that hold text however packed are read as that text (hunt s41: a gzip'd log
/// feed, a Windows-1252 or UTF-16 export passed unmasked as "bytes"); bytes that are no
/// text are not.
final class UnpackedTextTests: XCTestCase {
    let text = "name,ssn\nJosé Synthetic,123-45-6789\nAnother Synthetic Person,987-65-4320\nA Third One,111-22-3333\n"

    func zlib(_ data: Data) -> Data {
        var size = compressBound(uLong(data.count))
        var out = [UInt8](repeating: 0, count: Int(size))
        let status = data.withUnsafeBytes { compress2(&out, &size, $0.bindMemory(to: Bytef.self).baseAddress, uLong(data.count), 9) }
        XCTAssertEqual(status, Z_OK)
        return Data(out.prefix(Int(size)))
    }

    func testEveryPackingReadsAsItsText() throws {
        XCTAssertEqual(UnpackedText.text(Data(text.utf8)), text)
        XCTAssertEqual(UnpackedText.text(try XCTUnwrap(text.data(using: .windowsCP1252))), text)
        XCTAssertEqual(UnpackedText.text(try XCTUnwrap(text.data(using: .utf16))), text, "UTF-16 with its byte-order mark")
        let packed = zlib(Data(text.utf8))
        XCTAssertTrue(UnpackedText.isPacked(packed))
        XCTAssertEqual(UnpackedText.text(packed), text)
        XCTAssertEqual(UnpackedText.text(zlib(try XCTUnwrap(text.data(using: .windowsCP1252)))), text)
    }

    func testBytesThatAreNoTextAreNot() {
        var random = SystemRandomNumberGenerator()
        let noise = Data((0..<4096).map { _ in UInt8.random(in: 0...255, using: &random) })
        XCTAssertNil(UnpackedText.text(noise))
        XCTAssertNil(UnpackedText.text(Data([0x1F, 0x8B, 0x08, 0x00, 0x01, 0x02])), "a broken gzip is no text")
        XCTAssertNil(UnpackedText.text(Data([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 0x00, 0x00, 0x00, 0x0D])), "a PNG header")
    }

    func testAFewBytesAreNoSingleByteText() {
        XCTAssertNil(FieldWalk.base64Text("hypertension"), "a word of the base64 alphabet")
        XCTAssertNil(UnpackedText.text(Data([0x87, 0x2A, 0x5E, 0xAE, 0xD7, 0xAB, 0x49, 0xE8, 0x9D])))
    }

    func testAZipBombIsUnreadableNotEmpty() {
        XCTAssertEqual(UnpackedText.read(zlib(Data(count: UnpackedText.maxInflated + (1 << 20)))), .unreadable)
    }

    /// One answer inflates within one budget (the note of s41: sixty 16 KiB bombs in one
    /// answer made hoop-mask inflate about 1 GB): members past it are unreadable.
    func testOneAnswerInflatesWithinOneBudget() {
        let member = zlib(Data(count: 1 << 20) + Data(text.utf8))   // 1 MiB of zeros, then text
        UnpackedText.withBudget(3 << 20 + 100_000) {
            for _ in 0..<3 { XCTAssertNotEqual(UnpackedText.read(member), .unreadable) }
            XCTAssertEqual(UnpackedText.read(member), .unreadable, "the fourth member is past the answer's budget")
        }
        XCTAssertNotEqual(UnpackedText.read(member), .unreadable, "the next answer has a budget of its own")
    }

    /// Packed bytes not read to their end are not passed as no text (the second review).
    func testPackedBytesCutShortAreUnreadable() {
        let packed = zlib(Data(text.utf8))
        XCTAssertEqual(UnpackedText.read(packed.prefix(packed.count - 4)), .unreadable, "cut short")
        XCTAssertEqual(UnpackedText.read(packed + Data("trailing".utf8)), .unreadable, "bytes after the stream")
        XCTAssertEqual(UnpackedText.read(zlib(Data(count: 1000) + Data([0xFF, 0x00, 0x80]))), .unreadable, "no text inside")
        XCTAssertEqual(UnpackedText.read(Data("x^2 + y^2 = r^2, a circle's equation".utf8)), .text("x^2 + y^2 = r^2, a circle's equation"),
                       "text that begins with zlib's magic bytes")
    }

    /// A later piece of a streamed object begins wherever the cut fell: random bytes that
    /// begin like zlib, gzip or a byte-order mark are no packing there (CI, s46: a 40 MiB
    /// binary object cut off at its 156th piece), while text in another encoding still reads.
    func testALaterPieceIsReadForItsEncodingOnly() throws {
        var random = SystemRandomNumberGenerator()
        let noise = Data((0..<(256 << 10)).map { _ in UInt8.random(in: 0...255, using: &random) })
        for start in [[0x78, 0x9C], [0x78, 0x01], [0x78, 0xDA], [0x1F, 0x8B], [0xFF, 0xFE], [0xFE, 0xFF]] as [[UInt8]] {
            let piece = Data(start) + noise.dropFirst(2)
            XCTAssertEqual(UnpackedText.read(piece, continuing: true), .noText, "a later piece beginning \(start)")
        }
        XCTAssertEqual(UnpackedText.read(try XCTUnwrap(text.data(using: .windowsCP1252)), continuing: true), .text(text))
        XCTAssertEqual(UnpackedText.read(Data(text.utf8), continuing: true), .text(text))
        XCTAssertEqual(UnpackedText.read(zlib(Data(text.utf8))), .text(text), "a first piece is still read for its packing")
    }

    /// Random bytes that begin with a packing's magic are no packing (the flake hunt of
    /// s46: 7 random objects in 65,536 were refused whole, a random id's base64 became
    /// `[REDACTED]`); what a real packing holds is still read, cut short or not.
    func testMagicBytesThatBeginNoStreamAreReadAsTheyAre() throws {
        var random = SystemRandomNumberGenerator()
        for start in [[0x78, 0x9C], [0x78, 0x01], [0x78, 0xDA], [0x78, 0x5E], [0x1F, 0x8B], [0xFF, 0xFE], [0xFE, 0xFF]] as [[UInt8]] {
            for _ in 0..<40 {
                var noise = (0..<1022).map { _ in UInt8.random(in: 0...255, using: &random) }
                // 1F 8B 08 is a gzip header (deflate), refused when it does not inflate: by design.
                if start == [0x1F, 0x8B], noise[0] == 0x08 { noise[0] = 0x09 }
                let bytes = Data(start) + Data(noise)
                XCTAssertNotEqual(UnpackedText.read(bytes), .unreadable, "random bytes beginning \(start)")
                XCTAssertFalse(UnpackedText.beginsPacked(bytes), "random bytes beginning \(start)")
            }
        }
        let packed = zlib(Data(String(repeating: text, count: 50).utf8))
        XCTAssertTrue(UnpackedText.beginsPacked(packed.prefix(packed.count / 2)), "the first piece of a real packing")
        let utf16 = try XCTUnwrap(String(repeating: text, count: 50).data(using: .utf16))
        XCTAssertTrue(UnpackedText.beginsPacked(utf16.prefix(utf16.count / 2 + 1)), "UTF-16 cut inside a character")
        var corrupt = packed
        corrupt[corrupt.count / 2] ^= 0xFF
        if case .text(let t) = UnpackedText.read(corrupt) { XCTAssertTrue(t.hasPrefix("name,ssn"), "what came out before the break") }
        else { XCTAssertEqual(UnpackedText.read(corrupt), .unreadable, "a broken packing's text is read or refused, never nothing") }
        // A bad byte before an identifier does not hide it (read leniently).
        var hidden = zlib(Data([0xFF, 0x01, 0x02]) + Data("123-45-6789 ".utf8) + Data(count: 200))
        hidden[hidden.count - 1] ^= 0xFF   // the checksum broken: a data error after the whole output
        guard case .text(let t) = UnpackedText.read(hidden) else { return XCTFail("a broken packing read as nothing") }
        XCTAssertTrue(t.contains("123-45-6789"))
    }

    /// The review of s46: what other readers read is not passed as no text.
    func testWhatOtherReadersReadIsNeverNoText() throws {
        // A gzip header zlib refuses (a reserved flag bit), which Python's reader reads.
        var flagged = Data([0x1F, 0x8B, 0x08, 0x20, 0, 0, 0, 0, 0, 0xFF])
        flagged.append(Data(count: 100))
        XCTAssertNotEqual(UnpackedText.read(flagged), .noText, "a gzip header zlib refuses")
        XCTAssertTrue(UnpackedText.beginsPacked(flagged))
        // UTF-16 with one lone surrogate: read leniently, the identifier found.
        var units: [UInt8] = [0xFF, 0xFE]
        for c in "ssn 123-45-6789 ".utf8 { units += [c, 0] }
        units += [0x00, 0xD8]   // a lone high surrogate
        for c in "more text".utf8 { units += [c, 0] }
        guard case .text(let t) = UnpackedText.read(Data(units)) else { return XCTFail("UTF-16 with a lone surrogate read as no text") }
        XCTAssertTrue(t.contains("123-45-6789"))
        XCTAssertTrue(UnpackedText.beginsPacked(Data(units)))
    }

    func testBase64MembersOfAnyPackingAreRead() {
        XCTAssertEqual(FieldWalk.base64Text(zlib(Data(text.utf8)).base64EncodedString()), text)
    }
}
