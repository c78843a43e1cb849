import XCTest
@testable import HoopMasking

final class MaskerTests: XCTestCase {
    let key = HashKey("test-key-not-a-secret")

    func testStrategies() {
        let v = Array("912-34-5678".utf8)[...]
        XCTAssertEqual(MaskStrategy.redact.text(for: v, marker: "[SSN]"), "[SSN]")
        XCTAssertEqual(MaskStrategy.partial(keepLast: 4).text(for: v, marker: ""), "***-**-5678")
        XCTAssertEqual(MaskStrategy.partial(keepLast: 2).text(for: Array("Zoë".utf8)[...], marker: ""), "Zo*")
        XCTAssertEqual(MaskStrategy.keep.text(for: v, marker: ""), "912-34-5678")
    }

    func testHashIsDeterministicAndKeyed() {
        let v = Array("912-34-5678".utf8)[...]
        let a = MaskStrategy.hash(key: key).text(for: v, marker: "")
        XCTAssertEqual(a, MaskStrategy.hash(key: HashKey("test-key-not-a-secret")).text(for: v, marker: ""))
        XCTAssertTrue(a.hasPrefix("tok_") && a.count == 20, a)
        XCTAssertNotEqual(a, MaskStrategy.hash(key: HashKey("other")).text(for: v, marker: ""))
        XCTAssertNotEqual(a, MaskStrategy.hash(key: key).text(for: Array("912-34-5679".utf8)[...], marker: ""))
        XCTAssertFalse(a.contains("5678"))
    }

    func testContentMaskingInText() throws {
        let m = Masker(policy: MaskPolicy(entityStrategies: [.ssn: .partial(keepLast: 4), .email: .hash(key: key)]))
        let r = try m.mask("SSN 912-34-5678, mail ada.lovelace42@example.org, call 555-010-1234")
        XCTAssertTrue(r.value!.hasPrefix("SSN ***-**-5678, mail tok_"), r.value!)
        XCTAssertTrue(r.value!.hasSuffix("call [PHONE]"), r.value!)
        XCTAssertEqual(r.counts, ["SSN": 1, "EMAIL": 1, "PHONE": 1])
        XCTAssertEqual(try m.mask("nothing here, 42 units").counts, [:])
    }

    func testColumnRulesAndGlobs() throws {
        let m = Masker(policy: MaskPolicy(columnRules: [
            ColumnRule(table: "patients", column: "ssn", strategy: .partial(keepLast: 4), entity: .ssn),
            ColumnRule(table: "pat*", column: "*_name", strategy: .hash(key: key), entity: .personName),
            ColumnRule(table: "*", column: "admitted_at", strategy: .keep),
            ColumnRule(table: "*", column: "date_of_birth", strategy: .redact, entity: .date),
            ColumnRule(column: "insurance_id", strategy: .null),
        ]))
        XCTAssertEqual(try m.mask("912-34-5678", table: "patients", column: "ssn", typeOID: PGType.text).value, "***-**-5678")
        let a = try m.mask("Quenwick", table: "patients", column: "last_name", typeOID: PGType.text)
        XCTAssertEqual(a.counts, ["PERSON_NAME": 1])
        XCTAssertEqual(a.value, try m.mask("Quenwick", table: "PATIENTS", column: "first_name", typeOID: PGType.text).value)
        XCTAssertEqual(try m.mask("2026-11-26 10:00:00+00", table: "encounters", column: "admitted_at", typeOID: PGType.timestamptz).value,
                       "2026-11-26 10:00:00+00")
        XCTAssertEqual(try m.mask("1950-03-02", table: "patients", column: "date_of_birth", typeOID: PGType.date).value, "1950-01-01")
        XCTAssertNil(try m.mask("ABC123456789", table: nil, column: "insurance_id").value)
        XCTAssertFalse(ColumnRule(table: "patients", column: "ssn", strategy: .redact).matches(table: nil, column: "ssn"))
    }

    /// Glob's in-place ASCII fold agrees with matching the Unicode lower case of both
    /// strings (its definition) on random patterns and names, ASCII and not: the Kelvin
    /// sign lowers to an ASCII k, a dotted capital I to two scalars.
    func testGlobAgreesWithMatchingTheLowerCase() {
        func reference(_ pattern: String, _ text: String) -> Bool {
            let p = Array(pattern.lowercased().utf8), s = Array(text.lowercased().utf8)
            var i = 0, j = 0, star = -1, mark = 0
            while j < s.count {
                if i < p.count, p[i] == 0x3F || p[i] == s[j] { i += 1; j += 1 }
                else if i < p.count, p[i] == 0x2A { star = i; mark = j; i += 1 }
                else if star >= 0 { i = star + 1; mark += 1; j = mark }
                else { return false }
            }
            while i < p.count, p[i] == 0x2A { i += 1 }
            return i == p.count
        }
        let letters: [String] = ["a", "A", "b", "B", "k", "K", "_", "1", "é", "É", "\u{212A}", "ß", "İ", "i", "@", "["]
        struct SplitMix64: RandomNumberGenerator {   // seeded: a failure can be run again
            var state: UInt64
            mutating func next() -> UInt64 {
                state &+= 0x9E37_79B9_7F4A_7C15
                var z = state
                z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
                z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
                return z ^ (z >> 31)
            }
        }
        var rng = SplitMix64(state: 21)
        var matched = 0
        for _ in 0..<20_000 {
            let text = (0..<Int.random(in: 0...6, using: &rng)).map { _ in letters.randomElement(using: &rng)! }.joined()
            let pattern = (0..<Int.random(in: 0...5, using: &rng)).map { _ in
                Int.random(in: 0..<4, using: &rng) == 0 ? ["*", "?"].randomElement(using: &rng)! : letters.randomElement(using: &rng)!
            }.joined()
            let want = reference(pattern, text)
            XCTAssertEqual(Glob.matches(pattern, text), want, "\(pattern) on \(text)")
            if want { matched += 1 }
        }
        XCTAssertGreaterThan(matched, 500, "the random cases match often enough to test both outcomes")
        XCTAssertTrue(Glob.matches("PAT*", "patients") && Glob.matches("\u{212A}*", "key") && !Glob.matches("pat?", "pat"))
    }

    /// A value computed from pieces of a ruled column: its NULL is masked as its values
    /// are, and an array's length goes; a stored column's NULL stays NULL.
    func testNullsAndArrayLengthsOfValuesComputedFromPieces() throws {
        let m = Masker(policy: MaskPolicy())
        let whole = ColumnRule(table: "*", column: "*", strategy: .redact)
        var pieces = whole
        pieces.pieces = true
        XCTAssertNil(try m.maskedNull(rule: whole, typeOID: PGType.text))
        XCTAssertEqual(try m.maskedNull(rule: pieces, typeOID: PGType.text)?.value, "[REDACTED]")
        XCTAssertEqual(try m.maskedNull(rule: pieces, typeOID: PGType.int4)?.value, try m.mask("7", rule: pieces, typeOID: PGType.int4).value)
        XCTAssertEqual(try m.maskedNull(rule: pieces, typeOID: PGType.date)?.value, "1900-01-01")
        var nulling = pieces
        nulling.strategy = .null
        XCTAssertNil(try m.maskedNull(rule: nulling, typeOID: PGType.text))
        XCTAssertEqual(try m.mask("{0,0,0}", rule: pieces, typeOID: 1007).value, "{}", "int4[]: no length")
        XCTAssertEqual(try m.mask("{a,b}", rule: whole, typeOID: 1009).value, #"{"[REDACTED]","[REDACTED]"}"#, "text[]: element by element")
    }

    func testTypePreservation() throws {
        func typed(_ oid: UInt32, _ s: MaskStrategy = .redact, _ v: String = "1950-03-02") -> String? {
            TypedReplacement.value(for: v, oid: oid, strategy: s)!
        }
        XCTAssertEqual(typed(PGType.date), "1950-01-01")
        XCTAssertEqual(typed(PGType.timestamptz, .redact, "1950-03-02 10:00:00+00"), "1950-01-01 00:00:00+00")
        XCTAssertEqual(typed(PGType.timestamp, .redact, "garbage"), "1900-01-01 00:00:00")
        XCTAssertEqual(typed(PGType.int4), "0")
        let h = typed(PGType.int2, .hash(key: key), "912345678")!
        XCTAssertEqual(h, typed(PGType.int2, .hash(key: key), "912345678"))
        XCTAssertTrue(Int16(h) != nil, h)
        XCTAssertNotNil(Int64(typed(PGType.int8, .hash(key: key), "912345678")!))
        XCTAssertNotNil(UUIDShape.valid(typed(PGType.uuid, .hash(key: key), "x")!))
        XCTAssertEqual(typed(PGType.jsonb), "\"[REDACTED]\"")
        XCTAssertNil(typed(PGType.date, .null))
        XCTAssertNil(TypedReplacement.value(for: "x", oid: 600, strategy: .redact))   // point: unknown
        // A non-text value with PHI found by content is replaced whole, validly typed.
        XCTAssertEqual(try standardMasker.mask("DOB 1950-03-02", typeOID: PGType.varchar).value, "DOB [DATE]")
        XCTAssertThrowsError(try Masker(policy: MaskPolicy(columnRules: [ColumnRule(column: "p", strategy: .redact)]))
            .mask("(1,2)", column: "p", typeOID: 600))
        // Numbers are left to column rules: an epoch second is not an NPI.
        XCTAssertEqual(try standardMasker.mask("1234567893", typeOID: PGType.int8).value, "1234567893")
        // So are arrays of numbers; an array of text is scanned.
        XCTAssertEqual(try standardMasker.mask("{NaN,Infinity,NULL}", typeOID: 1022).value, "{NaN,Infinity,NULL}")
        XCTAssertEqual(try standardMasker.mask("{NaN}", typeOID: 1231).value, "{NaN}")
        XCTAssertNotEqual(try standardMasker.mask("{\"Avery Abernathy\"}", typeOID: 1009).value, "{\"Avery Abernathy\"}")
    }

    /// An array under a column rule is masked element by element, as values of its
    /// element type: a driver still reads an array of the column's type (a bare token
    /// or marker in place of `{...}` made psycopg raise DataError), NULLs stay NULL.
    func testArraysMaskedElementByElement() throws {
        let m = Masker(policy: MaskPolicy(columnRules: [
            ColumnRule(column: "ssns", strategy: .partial(keepLast: 4), entity: .ssn),
            ColumnRule(column: "names", strategy: .hash(key: key), entity: .personName),
            ColumnRule(column: "notes", strategy: .redact),
            ColumnRule(column: "births", strategy: .redact, entity: .date),
            ColumnRule(column: "ids", strategy: .hash(key: key)),
            ColumnRule(column: "gone", strategy: .null),
        ]))
        func masked(_ column: String, _ value: String, _ oid: UInt32) throws -> String? {
            try m.mask(value, table: "t", column: column, typeOID: oid).value
        }
        XCTAssertEqual(try masked("ssns", "{912-34-5678,NULL,\"912 34 1234\"}", 1009), "{\"***-**-5678\",NULL,\"*** ** 1234\"}")
        let one = try masked("names", "Quenwick", PGType.text)!
        let two = try masked("names", "Ann \"Lee\"", PGType.text)!
        XCTAssertEqual(try masked("names", "{Quenwick,\"Ann \\\"Lee\\\"\"}", 1015), "{\"\(one)\",\"\(two)\"}")
        XCTAssertEqual(try masked("notes", "[0:1][1:2]={{a,b},{c,d}}", 1009), "[0:1][1:2]={{\"[REDACTED]\",\"[REDACTED]\"},{\"[REDACTED]\",\"[REDACTED]\"}}")
        XCTAssertEqual(try masked("births", "{1950-03-02,1961-12-30}", 1182), "{\"1950-01-01\",\"1961-01-01\"}")
        let id = try masked("ids", "123456", PGType.int4)!
        XCTAssertEqual(try masked("ids", "{123456,NULL}", 1007), "{\"\(id)\",NULL}")
        XCTAssertEqual(try masked("notes", "{}", 1009), "{}")
        XCTAssertNil(try masked("gone", "{a,b}", 1009))
        // Content detection in an array of a type that cannot hold a marker: the element
        // something is found in is replaced whole, the others stay.
        let ips = try m.mask("{10.1.2.3,NULL}", typeOID: 1041)
        XCTAssertEqual(ips.value, "{\"0.0.0.0\",NULL}")
        XCTAssertEqual(ips.counts, ["IP_ADDRESS": 1])
        XCTAssertEqual(try m.mask("{1950-03-02}", typeOID: 1182).value, "{\"1950-01-01\"}")
    }
}

enum UUIDShape {
    static func valid(_ s: String) -> Bool? {
        let parts = s.split(separator: "-").map(\.count)
        return parts == [8, 4, 4, 4, 12] ? true : nil
    }

}
