import XCTest
@testable import HoopSQL

/// ShapeCache's scan (SQLParser.quickShape): a key only where it finds the literals the
/// parse replaces, so that two texts sharing a scanned key share a parsed shape.
final class ShapeCacheTests: XCTestCase {
    func testTheScanFindsWhatTheParseReplaces() {
        for sql in ["SELECT abalance FROM pgbench_accounts WHERE aid = 40123;",
                    "select id, \"it's\" from patients where note = 'a -- b /* c' and id in (1, 2.5, .75)",
                    "insert into t (a, b) values ('x''', 3)".replacingOccurrences(of: "'''", with: "'"),
                    "update t set n = 'é, ü' where id = 7 returning \"A\"\"B\"",
                    "select 1;select 'two'"] {
            guard let q = SQLParser.quickShape(sql) else { return XCTFail("no scan of \(sql)") }
            XCTAssertEqual(q.shape, SQLParser.normalize(sql), sql)
        }
        XCTAssertEqual(SQLParser.quickShape("select 'a', 1, 2.5 from t")?.kinds, "sif")
    }

    /// A parameterized text whose shape texts with literals put in the cache first is
    /// parsed once, not at every use (pgbench's extended mode after a simple warm-up
    /// parsed each Parse in hoop-approve and hoop-mask).
    func testATextThatIsItsOwnShapeIsParsedOnce() {
        let cache = ShapeCache<Classification>()
        for aid in [40123, 7, 99999] {
            _ = cache.value("SELECT abalance FROM pgbench_accounts WHERE aid = \(aid);") { Classifier.classify($0) }
        }
        let before = cache.parsed
        let parameterized = "SELECT abalance FROM pgbench_accounts WHERE aid = $1;"
        for _ in 0..<10 { _ = cache.value(parameterized) { Classifier.classify($0) } }
        XCTAssertEqual(cache.parsed - before, 1)
        XCTAssertEqual(cache.value(parameterized) { _ in Classification(statements: []) }, Classifier.classify(parameterized))
    }

    /// The classify options' cache key follows every change of the options, and two
    /// sets of key columns never share one (a quoted name may hold a comma).
    func testTheClassifyOptionsKeyFollowsTheOptions() {
        var a = ClassifyOptions(), b = ClassifyOptions()
        XCTAssertEqual(a.cacheScope, b.cacheScope)
        a.maxBoundedLimit = 10
        XCTAssertNotEqual(a.cacheScope, b.cacheScope)
        b.maxBoundedLimit = 10
        a.keyColumns = ["a,b"]
        b.keyColumns = ["a", "b"]
        XCTAssertNotEqual(a.cacheScope, b.cacheScope)
        b.keyColumns = ["a,b"]
        XCTAssertEqual(a.cacheScope, b.cacheScope)
        a.keyColumns.insert("mrn")
        b.keyColumns = ["mrn", "a,b"]
        XCTAssertEqual(a.cacheScope, b.cacheScope)
        // A classification under one key is not found under another.
        let cache = ShapeCache<Classification>()
        let sql = "delete from visits where note_key = 3"
        _ = cache.value(sql, scope: ClassifyOptions().cacheScope) { Classifier.classify($0) }
        var keyed = ClassifyOptions()
        keyed.keyColumns = ["note_key"]
        XCTAssertEqual(cache.value(sql, scope: keyed.cacheScope) { Classifier.classify($0, options: keyed) },
                       Classifier.classify(sql, options: keyed))
        XCTAssertNotEqual(Classifier.classify(sql, options: keyed), Classifier.classify(sql))
    }

    func testWhatTheScanCannotReadHasNoKey() {
        for sql in ["select E'a\\'b'", "select $1", "select $$x$$", "select 1 -- c", "select /* c */ 1",
                    "select 'it''s'", "select 'a'\n'b'", "select 123abc", "select 1234567890", "select U&'x'",
                    "select U&\"x\"", "select x'ff'", "select b'01'", "select n'a'", "select 'a\\b'",
                    "select 1.2.3", "select 1e5", "select 'open", "select \"open", "select a.5"] {
            XCTAssertNil(SQLParser.quickShape(sql), sql)
        }
    }

    /// Texts made from templates with random literals: whenever two scan to the same
    /// key and the first one's scan is its parsed shape (when ShapeCache keeps the key),
    /// the second parses to that shape too.
    func testASharedScannedKeyIsASharedShape() {
        let templates = [
            "select * from t where a = ? and b = ?", "select ?, ? from t", "select ? as \"a'b\", x from t where y = ?",
            "select x from t limit ?", "select x from t order by ?", "select -?", "select x - ? from t",
            "select x from t where y in (?, ?)", "select varchar(?) from t", "select interval ?",
            "select cast(? as text)", "select ?::int", "select x from t where y = ? or z = ?",
            "select x from t offset ? rows fetch first ? rows only", "select x from t group by ?",
            "select array[?, ?]", "select (?)", "select x[?] from t", "select ? || x from t",
            "set statement_timeout = ?", "select x from t where y between ? and ?", "values (?), (?)",
            "select * from generate_series(?, ?)", "select x from t tablesample system (?)",
        ]
        var rng = SystemRandomNumberGenerator()
        let chars = Array("ab -;/*\"()=,.0123456789é")
        func literal() -> String {
            switch Int.random(in: 0..<4, using: &rng) {
            case 0: return String(Int.random(in: 0...999_999_999, using: &rng))
            case 1: return "\(Int.random(in: 0...99, using: &rng)).\(Int.random(in: 0...99, using: &rng))"
            case 2: return "'" + String((0..<Int.random(in: 0...6, using: &rng)).map { _ in chars.randomElement(using: &rng)! }) + "'"
            default: return "'\(Int.random(in: 0...99, using: &rng))'"
            }
        }
        var kept: [String: String] = [:]
        var checked = 0
        for _ in 0..<4000 {
            let template = templates.randomElement(using: &rng)!
            let sql = template.split(separator: "?", omittingEmptySubsequences: false).map(String.init)
                .enumerated().map { $0.offset == 0 ? $0.element : literal() + $0.element }.joined()
            guard let q = SQLParser.quickShape(sql) else { continue }
            let key = q.kinds + "\u{0}" + q.shape
            let parsed = SQLParser.normalize(sql)
            if let shape = kept[key] { XCTAssertEqual(parsed, shape, sql); checked += 1 }
            else if parsed == q.shape { kept[key] = q.shape }
        }
        XCTAssertGreaterThan(checked, 1000)
    }

    func testAHitByScanNeedsNoParse() {
        let cache = ShapeCache<String>()
        var computed = 0
        func classify(_ sql: String) -> String { computed += 1; return sql.contains("limit") ? sql : "read" }
        XCTAssertEqual(cache.value("select abalance from a where aid = 1", classify), "read")
        let parses = cache.parsed
        XCTAssertEqual(cache.value("select abalance from a where aid = 2", classify), "read")
        XCTAssertEqual(cache.parsed, parses)
        // A string where the first text had a number: another key, parsed, then shared.
        _ = cache.value("select abalance from a where aid = '3'", classify)
        XCTAssertEqual(cache.parsed, parses + 1)
        // What a literal changes is computed each time.
        computed = 0
        XCTAssertEqual(cache.value("select x from a limit 5", classify), "select x from a limit 5")
        XCTAssertEqual(cache.value("select x from a limit 6", classify), "select x from a limit 6")
        XCTAssertEqual(computed, 4)
    }

    func testACachedShapeNeverGivesATextAnotherVerdict() {
        // Texts whose verdict hangs on a literal's value, in every order: what the cache
        // gives is what the text alone gives (a harmless search_path cached its shape as
        // allowed, and the next one that shadowed pg_catalog was allowed by it).
        let texts = ["set search_path = public, information_schema", "set search_path = information_schema, pg_catalog",
                     "set search_path = pg_toast, pg_catalog", "set search_path = clinic, public"]
        for order in [texts, texts.reversed(), [texts[1], texts[0], texts[2], texts[3]]] {
            let cache = ShapeCache<Classification>()
            for sql in order + order {
                XCTAssertEqual(cache.value(sql) { Classifier.classify($0) }, Classifier.classify(sql), sql)
            }
        }
    }
}
