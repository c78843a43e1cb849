import XCTest
@testable import HoopSQL

/// Where each result column's value comes from: the trace hoop-mask uses to mask a
/// value whatever the query did to it (docs/masking.md, "Derived columns").
final class LineageTests: XCTestCase {
    func shape(_ sql: String, file: StaticString = #filePath, line: UInt = #line) throws -> Shape {
        let all = try Lineage.analyze(sql)
        XCTAssertEqual(all.count, 1, file: file, line: line)
        guard case .rows(let s) = all[0] else { XCTFail("no rows for \(sql): \(all[0])", file: file, line: line); return .empty }
        return s
    }
    func col(_ t: String, _ c: String) -> SourceColumn { SourceColumn(t, c) }
    func piece(_ t: String, _ c: String) -> SourceColumn { SourceColumn(t, c, whole: false) }
    func values(_ s: Shape) -> [Set<SourceColumn>] {
        (s.columns ?? []).map { if case .value(let v) = $0 { return v.subtracting([.encoded]) } else { return [] } }
    }

    /// What leaves the text content detection reads is marked (hoop-mask masks such a value
    /// of a column only detection guards whole): a cast to another type or a length, an
    /// encoding, a piece cut out; not a case change, a concatenation, a cast to text, nor
    /// a constant's cast. A recursive CTE's own name is no source.
    func testAnEncodingIsMarked() throws {
        func encoded(_ e: String) throws -> Bool {
            (try shape("select \(e) from encounters e").columns?.first?.sources ?? []).contains(.encoded)
        }
        for e in ["substring(e.note from 'MRN-(\\d+)')::int::text", "reverse(e.note)", "translate(e.note, 'ab', 'xy')",
                  "encode(convert_to(e.note, 'UTF8'), 'base64')", "e.note::bytea", "(e.note || ' 12:00')::timestamp",
                  "e.note::varchar(1)", "ascii(e.note)", "left(e.note, 3)"] {
            XCTAssertTrue(try encoded(e), e)
        }
        for e in ["e.note", "upper(e.note)", "e.note || '!'", "e.note::text", "'2024-01-01'::date", "coalesce(e.note, '')"] {
            XCTAssertFalse(try encoded(e), e)
        }
        let r = try shape("with recursive t(n, x) as (select 1, note from encounters union all select n + 1, x from t where n < 3) select x from t")
        XCTAssertTrue(values(r).first?.contains(col("encounters", "note")) == true)
        XCTAssertFalse(values(r).first?.contains { $0.table == "t" } ?? true, "no source named by the CTE itself")
        // A CTE named like the table its body reads by a qualified name keeps that table's sources (the review of s42).
        let named = try shape("with recursive patients as (select ssn, last_name from public.patients) select reverse(ssn) from patients")
        XCTAssertTrue(values(named).first?.contains(piece("patients", "ssn")) == true)
        for e in ["textsend(e.note)::text", "to_tsvector('simple', e.note)::text", "regexp_substr(e.note, '[0-9]+')",
                  "e.note::\"char\"", "e.note::name"] {
            XCTAssertTrue(try encoded(e), e)
        }
    }

    func testConcatenationCastAliasAndFunctions() throws {
        let s = try shape("select p.first_name || ' ' || last_name as n, date_of_birth::text, upper(ssn) x, count(*), 42 from patients p")
        XCTAssertEqual(values(s), [
            [col("patients", "first_name"), col("patients", "last_name")],
            [col("patients", "date_of_birth")], [piece("patients", "ssn")], [], []])
    }

    /// A setting holds whatever set_config put there (any setting: application_name,
    /// work_mem, search_path take values of many shapes): server state, which hoop-mask
    /// resolves to what the gateway's sessions parked there (nothing, for drivers that
    /// read `jit` on a fresh session).
    func testSettingsAreServerState() throws {
        let s = try shape("select current_setting('jit'), pg_catalog.current_setting('TimeZone'), current_setting('my.v'), current_setting(name) from t")
        for v in values(s) { XCTAssertTrue(v.contains(.setting), "\(v)") }
        XCTAssertEqual(try Lineage.analyze("show application_name"), [.rows(Shape([.value([.setting])]))])
        XCTAssertEqual(values(try shape("select setting from pg_settings")), [[.setting]])
        XCTAssertEqual(values(try shape("select relname from pg_catalog.pg_class")), [[.catalog]])
        XCTAssertEqual(values(try shape("select currval('s'), 'x'::regclass")), [[.catalog], [.catalog]])
        XCTAssertEqual(values(try shape("select query from pg_stat_activity")), [[.untraced]])
        XCTAssertEqual(values(try shape("select objid from pg_locks")), [[.untraced]])
    }

    /// What chooses a value (a CASE's argument and conditions, NULLIF's comparison)
    /// carries a piece of what it reads: NULL or not, the value is its answer.
    func testWhatChoosesAValueCarriesAPiece() throws {
        let s = try shape("""
            select nullif(last_name, 'Guess'), case last_name when 'Guess' then null else 1 end,
                   case when substr(ssn, 1, 1) = '7' then null else mrn end, coalesce(phone, email) from patients
            """)
        XCTAssertEqual(values(s), [[piece("patients", "last_name")], [piece("patients", "last_name")],
                                   [piece("patients", "ssn"), col("patients", "mrn")],
                                   [col("patients", "phone"), col("patients", "email")]])
    }

    /// The rows' order is seen: sorted by a piece of a value, every column carries it;
    /// sorted by a stored value whole, nothing more than that value's order.
    func testAnOrderMadeByAPieceIsCarriedByEveryColumn() throws {
        let ssn5 = piece("patients", "ssn")
        for sql in ["select p.id, 1 from patients p order by substr(p.ssn, 5, 1), p.id",
                    "select p.id, row_number() over (order by substr(p.ssn, 5, 1)) from patients p",
                    "select p.id, lag(p.id) over (partition by substr(p.ssn, 5, 1) order by p.id) from patients p",
                    "select p.id, count(*) over w from patients p window w as (order by ascii(p.ssn))",
                    "select min(p.id), 1 from patients p group by substr(p.ssn, 5, 1)",
                    "select distinct on (substr(p.ssn, 5, 1)) p.id, 1 from patients p"] {
            for v in values(try shape(sql)) { XCTAssertTrue(v.contains(ssn5), "\(sql): \(v)") }
        }
        XCTAssertEqual(values(try shape("select p.id, p.last_name from patients p order by p.last_name")),
                       [[col("patients", "id")], [col("patients", "last_name")]])
        XCTAssertEqual(values(try shape("select p.id, (select max(q.id) from patients q order by substr(q.ssn, 1, 1)) from patients p")).first,
                       [col("patients", "id")], "a sub-select's ORDER BY orders its own rows")
    }

    /// A value chosen by comparing with a constant is a piece: `partial` would show which
    /// won (hunt s41); among a table's stored values alone it is one of them, whole.
    func testAValueChosenByComparingIsAPiece() throws {
        XCTAssertEqual(values(try shape("select greatest(ssn, '123'), max(ssn), greatest(ssn, ssn) from patients")),
                       [[piece("patients", "ssn")], [col("patients", "ssn")], [col("patients", "ssn")]])
        let chosen = values(try shape("select (select max(v) from (values (p.ssn), ('5')) t(v)) from patients p"))[0]
        XCTAssertTrue(chosen.contains(piece("patients", "ssn")) && !chosen.contains(col("patients", "ssn")), "\(chosen)")
    }

    /// A plain DISTINCT sorts by every item of its select list where it cannot hash: a
    /// piece among them orders every column (hunt s41).
    func testAPlainDistinctSortsByEveryItem() throws {
        let ssn = piece("patients", "ssn")
        for sql in ["select distinct substr(ssn, 5, 1) d, id, B'1' b from patients",
                    "select id, d from (select distinct substr(ssn, 5, 1) d, id, B'1' b from patients where id between 1 and 1000) s"] {
            for v in values(try shape(sql)) { XCTAssertTrue(v.contains(ssn), "\(sql): \(v)") }
        }
        XCTAssertEqual(values(try shape("select distinct last_name, id from patients")),
                       [[col("patients", "last_name")], [col("patients", "id")]], "stored values sort as themselves")
    }

    /// A condition relating FROM items chooses the rows of each for the other's: a lookup row
    /// picked by a piece gives that piece in every column of it (hunt s41).
    func testALookupRowChosenByAPieceCarriesItInEveryColumn() throws {
        let ssn = piece("patients", "ssn")
        for sql in [
            "with d(v, k) as (select g + 100, g::text from generate_series(0, 9) g) select p.id, x.v from patients p join d x on x.k = substr(p.ssn, 1, 1)",
            "select p.id, v.specialty from patients p join providers v on v.id = 1 + substr(p.ssn, 5, 1)::int",
            "select p.id, v.specialty from patients p, providers v where v.id = 1 + substr(p.ssn, 5, 1)::int",
            "select x.v from (select id, substr(ssn, 1, 1) k from patients) p join (values ('0', 100)) x(k, v) using (k)",
            "select x.v from (select id, substr(ssn, 1, 1) k from patients) p natural join (values ('0', 100)) x(k, v)",
            // The patient's own id, repeated as often as a digit says, or in the order a lookup made.
            "select p.id from patients p join (values (0), (1), (2)) g(g) on g <= substr(p.ssn, 5, 1)::int",
            "select p.id from patients p cross join lateral generate_series(0, substr(p.ssn, 5, 1)::int) s",
            "select p.id from patients p join (values (0), (1)) g(g) on g = substr(p.ssn, 5, 1)::int order by g, p.id",
            "select p.id from patients p, lateral (select 1 from (values (0), (1)) g(g) where g <= substr(p.ssn, 5, 1)::int) x",
            // Attribute notation: `s.to_json` is `to_json(s)`, the whole row.
            "select 1, s.to_json from (select id, reverse(ssn) a from patients) s",
            // OFFSET computed from a value picks the row; a UNION sorts by its columns.
            "select 1, g from generate_series(0, 9) g offset (select substr(ssn, 5, 1)::int from patients where id = 42) limit 1",
            "select 1, x.id from (select substr(ssn, 5, 1) d, id, B'1' b from patients union select '0', -1, B'0') x",
            "update encounters e set note = 'n' from patients p, (values (0, 'zero')) d(k, v) where e.id = 1 and p.id = 42 "
                + "and d.k = substr(p.ssn, 5, 1)::int returning 1, d.v",
        ] {
            XCTAssertTrue(values(try shape(sql)).last?.contains(ssn) == true, sql)
        }
        // The item's own condition chooses its own rows (a yes or no a row); a join on keys
        // carries the keys, which no rule names.
        XCTAssertEqual(values(try shape("select p.id, p.last_name from patients p where p.ssn like '9%'")),
                       [[col("patients", "id")], [col("patients", "last_name")]])
        // A join on keys carries the keys, which no rule names; a reference table's row
        // picked by a stored value gives that value in every column (the second review).
        let joined = values(try shape("select e.note, p.id from encounters e join patients p on p.id = e.patient_id where p.ssn = '1'"))
        XCTAssertEqual(Set(joined.flatMap { $0.map(\.column) }), ["note", "id", "patient_id"], "\(joined)")
        XCTAssertTrue(values(try shape("select p.id, c.year from patients p join dim_date c on c.date = p.date_of_birth"))[1]
            .contains(piece("patients", "date_of_birth")))
        XCTAssertTrue(values(try shape("select 1, p.quote_literal from patients p"))[1].contains(col("patients", "*")),
                      "attribute notation over a table: the whole row")
        let using = values(try shape("select e.note, p.id from encounters e join patients p using (id)"))
        XCTAssertEqual(Set(using.flatMap { $0.map(\.column) }), ["note", "id"], "USING compares the keys named: \(using)")
    }

    /// How many rows there are is a value too: a LIMIT's, a select-list function's, what
    /// an outer join's NULLs answer, and EXPLAIN ANALYZE's counts.
    func testRowCountsMadeOfAValueAreCarried() throws {
        let ssn = piece("patients", "ssn")
        XCTAssertTrue(try values(shape("select p.id, (select count(*) from (select 1 from generate_series(1, 99) g limit ascii(p.ssn)) x) from patients p"))[1].contains(ssn))
        for sql in ["select p.id, generate_series(1, ascii(p.ssn)) from patients p",
                    "select p.id, x.k from patients p left join (select 1 k) x on p.ssn like '1%'",
                    "explain analyze select 1 from patients p, generate_series(1, 9) g where g <= ascii(p.ssn)"] {
            XCTAssertTrue(values(try shape(sql)).allSatisfy { $0.contains(ssn) }, sql)
        }
        XCTAssertEqual(values(try shape("explain select p.id from patients p where p.ssn like '1%'")), [[]], "no ANALYZE: no counts")
    }

    /// The review's: a set operation's LIMIT, its ORDER BY by an output name (not an input
    /// column's), a select's ORDER BY by a function's output name, EXPLAIN ANALYZE of an
    /// EXECUTE, an outer join by USING.
    func testSortKeysByOutputNameAndRowCountsOfEveryForm() throws {
        let ssn = piece("patients", "ssn")
        XCTAssertTrue(try values(shape("""
            select p.id, (select count(*) from (select 1 from generate_series(1, 99) union all select 1 where false
                          limit ascii(p.ssn)) x) from patients p
            """))[1].contains(ssn))
        for sql in ["select id as a, ssn as id from patients union all select 1, 'x' order by id, a",
                    "select id, substr(ssn, 5, 1) from patients order by substr, id",
                    "select p.id, x.k from (select id, substr(ssn, 11, 1) d from patients) p left join (select '0' d, 1 k) x using (d)"] {
            XCTAssertTrue(try values(shape(sql)).allSatisfy { $0.contains(ssn) }, sql)
        }
        XCTAssertEqual(try values(shape("explain analyze execute q")), [[.untraced]])
    }

    func testCountRevealsNothingButOtherAggregatesCarry() throws {
        let s = try shape("select count(ssn), string_agg(last_name, ','), array_agg(mrn), max(phone) from patients where ssn like '9%'")
        XCTAssertEqual(values(s), [[], [col("patients", "last_name")], [col("patients", "mrn")], [col("patients", "phone")]])
    }

    func testWholeRowReferences() throws {
        let s = try shape("select row_to_json(p), to_jsonb(e.*) from patients p join encounters e on e.patient_id = p.id")
        // `p` alone may name a column p of either table, or the row p: all three.
        // The row p is named in the join's condition: what it relates p to comes along.
        XCTAssertTrue(values(s)[0].isSuperset(of: [piece("patients", "*"), piece("patients", "p"), piece("encounters", "p")]), "\(values(s)[0])")
        XCTAssertTrue(values(s)[1].contains(piece("encounters", "*")))
    }

    func testSubqueryAndCTEAliasesAreFollowed() throws {
        let s = try shape("""
            with c as (select ssn as s, id from patients)
            select x.n, c.s, c.id from (select first_name || last_name as n from patients) x, c
            """)
        XCTAssertEqual(values(s), [[col("patients", "first_name"), col("patients", "last_name")],
                                   [col("patients", "ssn")], [col("patients", "id")]])
    }

    func testRenamedDerivedColumns() throws {
        let s = try shape("select y from (select ssn, mrn from patients) t(x, y)")
        XCTAssertEqual(values(s), [[col("patients", "mrn")]])
    }

    func testScalarSubqueryAndExists() throws {
        let s = try shape("select (select max(ssn) from patients), exists(select 1 from patients where ssn = '1')")
        XCTAssertEqual(values(s), [[col("patients", "ssn")], [col("patients", "ssn").piece]])
    }

    func testStarsOverTablesAndDerivedTables() throws {
        let s = try shape("select *, p.mrn || 'x' from patients p")
        XCTAssertEqual(s.columns, [.tableStar("patients"), .value([col("patients", "mrn")])])
        let d = try shape("select * from (select lower(email) from patients) q")
        XCTAssertEqual(values(d), [[piece("patients", "email")]])
    }

    func testSetOperationsTraceBothSides() throws {
        let s = try shape("select first_name from patients union select name from providers")
        let names: Set<SourceColumn> = [col("patients", "first_name"), col("providers", "name")]
        XCTAssertEqual(values(s), [names.union(names.map(\.piece))], "UNION sorts by its columns: the order of the names is a piece of them")
        let all = try shape("select first_name from patients union all select name from providers")
        XCTAssertEqual(values(all), [[col("patients", "first_name"), col("providers", "name")]], "UNION ALL compares nothing")
        let star = try shape("select * from patients union all select * from patients")
        XCTAssertNil(star.columns)
        XCTAssertTrue(star.all.contains(col("patients", "*")))
    }

    func testUnqualifiedColumnInAJoinIsTakenFromEveryTable() throws {
        let s = try shape("select name from patients p join providers v on true")
        XCTAssertEqual(values(s), [[col("patients", "name"), col("providers", "name")]])
    }

    func testReturningCursorsPrepareAndCopy() throws {
        XCTAssertEqual(try Lineage.analyze("update patients set phone = '1' where id = 1 returning ssn"),
                       [.rows(Shape([.value([col("patients", "ssn")])]))])
        XCTAssertEqual(try Lineage.analyze("insert into patients (id) values (1)"), [.noRows])
        XCTAssertEqual(try Lineage.analyze("declare c cursor for select ssn from patients; fetch 5 from c; move 1 in c"),
                       [.declareCursor("c", Shape([.value([col("patients", "ssn")])])), .fetch("c"), .noRows])
        XCTAssertEqual(try Lineage.analyze("prepare q as select mrn from patients; execute q"),
                       [.prepare("q", Shape([.value([col("patients", "mrn")])])), .execute("q", arguments: [])])
        guard case .copyOut(let shape, let format) = try Lineage.analyze("copy patients (ssn, mrn) to stdout with (format csv, header)")[0]
        else { return XCTFail("not a copy out") }
        XCTAssertEqual(values(shape), [[col("patients", "ssn")], [col("patients", "mrn")]])
        XCTAssertEqual(format.kind, .csv)
        XCTAssertEqual(format.delimiter, UInt8(ascii: ","))
        XCTAssertTrue(format.header)
        XCTAssertEqual(try Lineage.analyze("copy patients from stdin"), [.noRows])
        guard case .copyOut(let whole, let text) = try Lineage.analyze("copy patients to stdout")[0] else { return XCTFail() }
        XCTAssertEqual(whole.columns, [.tableStar("patients")])
        XCTAssertEqual(text.kind, .text)
        XCTAssertEqual(text.delimiter, 0x09)
    }

    func testValuesAndLateralFunctions() throws {
        let s = try shape("select u from patients p, unnest(array[p.ssn, p.mrn]) u")
        XCTAssertTrue(values(s)[0].isSuperset(of: [col("patients", "ssn"), col("patients", "mrn")]), "\(values(s)[0])")
        let v = try shape("values (1, 'a')")
        XCTAssertEqual(values(v), [[], []])
    }

    func testCaseAndWindowExpressionsCarryTheirInputs() throws {
        let s = try shape("select case when ssn like '9%' then last_name else 'x' end, lag(mrn) over (order by id) from patients")
        XCTAssertEqual(values(s), [[piece("patients", "ssn"), col("patients", "last_name")], [col("patients", "mrn"), piece("patients", "id")]])
    }

    func testSyntaxErrorsAreReportedWithoutTheText() {
        XCTAssertThrowsError(try Lineage.analyze("select from where 900-12-3456")) { e in
            XCTAssertFalse("\(e)".contains("3456"), "\(e)")
        }
    }

    /// Which statements may make relations (a nameless table column of their result may
    /// be one, holding what the session wrote): SELECT INTO does, a SELECT over a
    /// data-modifying CTE does not (its result's table columns are the written table's).
    func testStatementsThatMakeRelations() throws {
        XCTAssertTrue(try Lineage.trace("select 1 as a into t")[0].creates)
        XCTAssertTrue(try Lineage.trace("create table t as select 1")[0].creates)
        XCTAssertFalse(try Lineage.trace("with w as (insert into t values (1) returning a) select a from w")[0].creates)
        XCTAssertTrue(try Lineage.trace("with w as (insert into t values (1) returning a) select a from w")[0].writes)
        XCTAssertFalse(try Lineage.trace("insert into t values (1) returning a")[0].creates)
    }

    /// The relation names hoop-connect looks up among the catalog's views: every one a
    /// text names, in subqueries, CTEs, joins, cursors and PREPARE; nil for a text that
    /// does not parse.
    func testRelationNamesOfATextCoverEveryPlaceARelationIsNamed() {
        let cases: [(String, Set<String>)] = [
            ("select upper(a) from s.v1", ["v1"]),
            ("select (select a from v1 limit 1), x.b from t x join \"Mixed\" m on true", ["v1", "t", "Mixed"]),
            ("with c as (select a from v2) select lower(c.a) from c", ["v2", "c"]),
            ("declare k cursor for select a || 'x' from v3; prepare p as select 1 from v4", ["v3", "v4"]),
            ("select now()", []),
            // A write's target: its RETURNING may carry what its rules return.
            ("with w as (insert into s.pub values (1) returning a) select a from w", ["pub", "w"]),
            ("update t1 set a = 1 from t2 returning t1.a; delete from t3 returning *", ["t1", "t2", "t3"]),
            ("merge into t4 using t5 on true when matched then delete", ["t4", "t5"]),
        ]
        for (sql, names) in cases { XCTAssertEqual(SQLParser.relationNames(sql)?.relations, names, sql) }
        XCTAssertEqual(SQLParser.relationNames("with recursive c as (select 1 union all select 1 from c) select * from c")?.ctes, ["c"])
        XCTAssertNil(SQLParser.relationNames("select from where"))
    }

    /// The statements that end a transaction, and with it every protocol portal; a
    /// ROLLBACK to a savepoint and the two-phase commands of another transaction do not.
    func testStatementsThatEndTheTransaction() throws {
        for sql in ["commit", "COMMIT AND CHAIN", "end work", "rollback", "abort", "rollback transaction",
                    "prepare transaction 'x'"] {
            XCTAssertEqual(try Lineage.trace(sql).first?.lineage, .endTransaction, sql)
        }
        for sql in ["rollback to savepoint a", "rollback work to a", "begin", "savepoint a", "release a",
                    "commit prepared 'x'", "rollback prepared 'x'", "prepare p as select 1", "select 'commit'"] {
            XCTAssertNotEqual(try Lineage.trace(sql).first?.lineage, .endTransaction, sql)
        }
    }
}

