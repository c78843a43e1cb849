import CZlib
import Foundation

/// The text bytes hold, however they are packed: gzip or zlib (by their magic bytes,
/// inflated up to a bound), UTF-8, UTF-16 with a byte-order mark, or a single-byte
/// encoding (Windows-1252) when nearly every byte is printable. A Windows export, an Excel
/// or bcp file in UTF-16, a gzip'd log feed hold PHI as plainly as UTF-8 does: read as
/// text, content detection sees it. Nil: bytes that are no text (an image, a random key).
public enum UnpackedText {
    /// Inflated bytes beyond this are not read (a zip bomb): nil.
    public static let maxInflated = 16 << 20
    /// Bytes inflated for one answer, over all its members (`withBudget`): sixty 16 KiB
    /// zlib bombs in a 1 MB answer made hoop-mask inflate about 1 GB, the CPU every
    /// session shares. Past it, a member is unreadable (refused, or `[REDACTED]`).
    public static let maxInflatedPerAnswer = 64 << 20

    private static let budgetLock = NSLock()
    nonisolated(unsafe) private static var budget: Int?

    /// Runs `body` (the masking of one answer) with `maxInflatedPerAnswer` to inflate.
    public static func withBudget<T>(_ bytes: Int = maxInflatedPerAnswer, _ body: () throws -> T) rethrows -> T {
        budgetLock.lock(); let outer = budget; budget = bytes; budgetLock.unlock()
        defer { budgetLock.lock(); budget = outer; budgetLock.unlock() }
        return try body()
    }

    /// What may still be inflated: the member bound, within the answer's budget.
    static func allowance() -> Int {
        budgetLock.lock(); defer { budgetLock.unlock() }
        return min(maxInflated, budget ?? maxInflated)
    }

    static func spend(_ bytes: Int) {
        budgetLock.lock(); defer { budgetLock.unlock() }
        if let b = budget { budget = b - bytes }
    }
    /// Bytes read as a single-byte encoding are at least this many.
    public static let minSingleByte = 64

    /// What bytes hold: text, no text, or packed bytes that cannot be read to their end
    /// (inflated past the bound, cut short, a format inside that is no text): those are
    /// not passed as if they held nothing.
    public enum Reading: Equatable { case text(String), noText, unreadable }

    /// `continuing`: the bytes are a later piece of a stream, cut at an arbitrary offset:
    /// what they begin with is no magic and no byte-order mark (random bytes begin so about
    /// once in ten thousand pieces), only the encoding of their text is read.
    public static func read(_ data: Data, continuing: Bool = false) -> Reading {
        if continuing { return decode(data, marked: false).map(Reading.text) ?? .noText }
        if isPacked(data) {
            switch inflate(data) {
            case .whole(let inflated): if let text = decode(inflated) { return .text(text) }; return .unreadable
            case .failed where isGzipHeader(data), .corrupt where isGzipHeader(data):
                // A gzip header zlib refuses (a header checksum, a reserved flag) or a member
                // after a break: other readers (Python's, Java's) may still read on. Random
                // bytes begin so once in 16 million.
                return String(data: data, encoding: .utf8).map(Reading.text) ?? .unreadable
            case .failed:
                // Magic bytes that begin no stream (random bytes do, 7 times in 65,536):
                // the bytes are read as what they are.
                break
            case .corrupt(let inflated):
                // Text that begins with the magic bytes is read as it is (below).
                if let text = String(data: data, encoding: .utf8) { return .text(text) }
                // A zlib stream: every reader stops where this one did, so what came out
                // before is all it gives. Read as text however encoded, else leniently (a bad
                // byte must not hide what follows it; NULs dropped, as UTF-16's high bytes
                // of ASCII are), beside the bytes as they are.
                let lenient = decode(inflated) ?? String(String(decoding: inflated, as: UTF8.self).unicodeScalars.compactMap { c -> Character? in
                    c.value == 0 ? nil : c.value < 0x20 && c != "\n" && c != "\t" || c.value == 0x7F ? " " : Character(c)
                })
                return .text(lenient + "\n" + (decode(data) ?? ""))
            case .partial:
                // Cut short, past the bound, or bytes after the stream. Magic bytes that
                // do not inflate (`x^2 + y^2` begins some text): valid UTF-8 whole is read
                // as it is (compressed bytes almost never are; stored ones hold their text
                // as it is).
                return String(data: data, encoding: .utf8).map(Reading.text) ?? .unreadable
            }
        }
        return decode(data).map(Reading.text) ?? .noText
    }

    /// Whether a first piece of a stream begins packed text that cannot be read piece by
    /// piece: a packing that inflates (not random bytes with its magic), or UTF-16 with its
    /// byte-order mark that decodes (a last character cut by the piece's end aside).
    public static func beginsPacked(_ data: Data) -> Bool {
        if isPacked(data) {
            switch inflate(data) {
            case .failed, .corrupt: if isGzipHeader(data) { return true }   // else read as the piece's text (read)
            case .whole, .partial: return true
            }
        }
        return hasUTF16Mark(data) && utf16(data) != nil
    }

    /// gzip's magic and its one method (deflate): a header, not two random bytes.
    static func isGzipHeader(_ data: Data) -> Bool {
        data.count >= 3 && data[data.startIndex] == 0x1F && data[data.startIndex + 1] == 0x8B && data[data.startIndex + 2] == 8
    }

    /// Bytes with UTF-16's byte-order mark as text: decoded whole, or, when a character
    /// does not decode (a lone surrogate, a piece's end inside one), leniently while most of
    /// its units are ASCII, as text of Latin letters is (random bytes' units are ASCII one
    /// time in 512). Nil otherwise.
    static func utf16(_ data: Data) -> String? {
        guard hasUTF16Mark(data) else { return nil }
        if let text = String(data: data, encoding: .utf16) { return text }
        let big = data[data.startIndex] == 0xFE
        let bytes = Array(data.dropFirst(2))
        var units: [UInt16] = []
        units.reserveCapacity(bytes.count / 2)
        for i in stride(from: 0, to: bytes.count - 1, by: 2) {
            let (high, low) = big ? (bytes[i], bytes[i + 1]) : (bytes[i + 1], bytes[i])
            units.append(UInt16(high) << 8 | UInt16(low))
        }
        guard !units.isEmpty, units.filter({ $0 < 0x80 }).count * 2 >= units.count else { return nil }
        return String(decoding: units, as: UTF16.self)
    }

    public static func text(_ data: Data) -> String? {
        if case .text(let t) = read(data) { return t }
        return nil
    }

    /// Whether the bytes are packed (gzip, zlib): their text is not what they show.
    public static func isPacked(_ data: Data) -> Bool { magic(data) != nil }

    static func magic(_ data: Data) -> Int32? {
        guard data.count >= 2 else { return nil }
        let a = data[data.startIndex], b = data[data.startIndex + 1]
        if a == 0x1F && b == 0x8B { return 15 + 16 }                                     // gzip
        if a == 0x78, [0x01, 0x5E, 0x9C, 0xDA].contains(b) { return 15 }                  // zlib
        return nil
    }

    enum Inflated { case whole(Data), failed, corrupt(Data), partial }

    /// Every member of a gzip (a concatenation, BGZF's blocks), or a zlib stream, inflated
    /// whole: `partial` when cut short, past the bound or followed by other bytes,
    /// `corrupt` (with what came out before) when the data breaks the format, `failed`
    /// when it never started.
    static func inflate(_ data: Data) -> Inflated {
        guard let window = magic(data) else { return .failed }
        var stream = z_stream()
        guard inflateInit2_(&stream, window, ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size)) == Z_OK else { return .failed }
        defer { inflateEnd(&stream) }
        var out = Data()
        let allowed = allowance()
        defer { spend(out.count) }
        var chunk = [UInt8](repeating: 0, count: 1 << 16)
        let status: Int32 = data.withUnsafeBytes { (input: UnsafeRawBufferPointer) -> Int32 in
            stream.next_in = UnsafeMutablePointer(mutating: input.bindMemory(to: Bytef.self).baseAddress)
            stream.avail_in = uInt(input.count)
            var status = Z_OK
            repeat {
                status = chunk.withUnsafeMutableBufferPointer { buffer -> Int32 in
                    stream.next_out = buffer.baseAddress
                    stream.avail_out = uInt(buffer.count)
                    let s = CZlib.inflate(&stream, Z_NO_FLUSH)
                    out.append(buffer.baseAddress!, count: buffer.count - Int(stream.avail_out))
                    return s
                }
                if out.count > allowed { return Z_BUF_ERROR }
                // The next member of a gzip: inflated too (`cat a.gz b.gz`).
                if status == Z_STREAM_END, stream.avail_in > 0, window > 15 {
                    guard inflateReset(&stream) == Z_OK else { return Z_DATA_ERROR }
                    status = Z_OK
                }
            } while status == Z_OK && (stream.avail_in > 0 || stream.avail_out == 0)
            return status
        }
        if status == Z_STREAM_END && stream.avail_in == 0 { return .whole(out) }
        if out.isEmpty && stream.total_in <= 10 { return .failed }
        if status == Z_DATA_ERROR || status == Z_NEED_DICT || status == Z_STREAM_ERROR { return out.isEmpty ? .failed : .corrupt(out) }
        return .partial
    }

    /// Whether the bytes begin with UTF-16's byte-order mark.
    public static func hasUTF16Mark(_ data: Data) -> Bool {
        guard data.count >= 2 else { return false }
        let a = data[data.startIndex], b = data[data.startIndex + 1]
        return (a == 0xFF && b == 0xFE) || (a == 0xFE && b == 0xFF)
    }

    static func decode(_ data: Data, marked: Bool = true) -> String? {
        if marked, hasUTF16Mark(data) { return utf16(data) }
        guard !data.isEmpty else { return nil }
        if let text = String(data: data, encoding: .utf8) { return text }
        // A single-byte encoding: nearly every byte printable (ASCII, tabs, line breaks, or
        // a letter of the Latin-1 range), as a Windows-1252 export is. Not for a few bytes:
        // most short byte strings read so (a word of the base64 alphabet, `hypertension`,
        // decodes to nine such bytes).
        guard data.count >= minSingleByte else { return nil }
        let printable = data.reduce(0) { n, b in n + ((b >= 0x20 && b != 0x7F) || b == 0x09 || b == 0x0A || b == 0x0D ? 1 : 0) }
        guard !data.isEmpty, printable * 100 >= data.count * 97 else { return nil }
        return String(data: data, encoding: .windowsCP1252) ?? String(data: data, encoding: .isoLatin1)
    }
}
