import XCTest
@testable import HoopSQL

/// The shapes that carry a value without naming it (issue 14): pieces, sizes and
/// character codes, predicates, server state, shadowed built-ins. Each is a family,
/// tested by more than one member; scripts/mask-fuzz generates many more.
final class LeakShapeTests: XCTestCase {
    func values(_ sql: String, shadowing: Set<String> = [], file: StaticString = #filePath, line: UInt = #line) throws -> [Set<SourceColumn>] {
        let all = try Lineage.analyze(sql, shadowing: shadowing)
        guard case .rows(let s)? = all.last else { XCTFail("no rows: \(all)", file: file, line: line); return [] }
        // Lineage.encoded is no source (LineageTests.testAnEncodingIsMarked checks it).
        return (s.columns ?? []).map { if case .value(let v) = $0 { return v.subtracting([.encoded]) } else { return [] } }
    }
    let ssn = SourceColumn("patients", "ssn"), ssnPiece = SourceColumn("patients", "ssn", whole: false)

    func testAPieceOfAValueIsNoWholeValue() throws {
        for e in ["substr(ssn, 1, 3)", "left(ssn, 2)", "right(ssn, 4)", "split_part(ssn, '-', 2)", "(regexp_match(ssn, '^..'))[1]",
                  "regexp_replace(ssn, '-', '')", "md5(left(ssn, 1))", "reverse(ssn)", "length(ssn)", "ascii(ssn)",
                  "ssn::char(3)", "ssn::varchar(4)", "overlay(ssn placing '' from 4)", "upper(substr(ssn, 1, 0) || chr(65))",
                  "get_byte(convert_to(ssn, 'UTF8'), 0)", "position('5' in ssn)", "(string_to_array(ssn, '-'))[1]",
                  "nullif(ssn, '')"] {
            XCTAssertEqual(try values("select \(e) from patients"), [[ssnPiece]], e)
        }
        // Whole values: the column, a cast without a length, a value chosen among whole ones.
        for e in ["ssn", "ssn::text", "coalesce(ssn, 'x')", "max(ssn)", "lag(ssn) over ()", "(select ssn)", "ssn || ''",
                  "case when true then ssn end"] {
            XCTAssertEqual(try values("select \(e) from patients"), [[ssn]], e)
        }
    }

    func testCountCarriesWhatMakesTheRows() throws {
        XCTAssertEqual(try values("select count(*) from patients"), [[]])
        // One yes-or-no per row, about one table's own columns: a side channel, not carried.
        XCTAssertEqual(try values("select count(*) from patients where ssn like '9%'"), [[]])
        for q in ["select (select count(*) from generate_series(1, ascii(p.ssn))) from patients p",
                  "select (select count(*) from regexp_matches(p.ssn, '1', 'g')) from patients p",
                  "select count(distinct substr(ssn, g, 1)) from patients, generate_series(1, 11) g",
                  "select count(*) from patients p, generate_series(1, 999) g where p.id = 1 and g <= ascii(p.ssn)",
                  "select count(*) from (select regexp_split_to_table(ssn, '') c from patients) s where c = '1'",
                  "select count(*) from (select distinct left(ssn, 1) from patients) s"] {
            XCTAssertTrue(try values(q)[0].contains(ssnPiece), q)
        }
    }

    func testAColumnEqualToAValueCarriesIt() throws {
        for q in ["select g from patients p join generate_series(0, 99999) g on g = substr(p.ssn, 1, 5)::int",
                  "select (select g from generate_series(0, 999) g where g = ascii(p.ssn)) from patients p",
                  "select g from generate_series(0, 999) g where exists (select 1 from patients p where ascii(p.ssn) = g)",
                  "select g from generate_series(0, 999) g where g in (select ascii(ssn) from patients)",
                  "select l.code from lookup l join patients p on l.code = left(p.ssn, 3)",
                  "select a.x from lookup a join lookup b on a.x = b.y join patients p on b.y = p.ssn"] {
            XCTAssertTrue(try values(q)[0].contains(ssnPiece), q)
        }
        // Rows chosen by an order (ORDER BY ... LIMIT, DISTINCT ON) or by a rank computed
        // in a derived table; a sum of constants over rows made from a value.
        for q in ["select g from generate_series(0, 999) g, patients p where p.id = 1 order by abs(g - ascii(p.ssn)) limit 1",
                  "select distinct on (true) g from generate_series(0, 999) g, patients p order by true, abs(g - ascii(p.ssn))",
                  "select s.g from (select g, rank() over (order by abs(g - ascii(p.ssn))) r from generate_series(0, 999) g, patients p) s where s.r = 1",
                  "with s as (select g, row_number() over (order by abs(g - length(p.ssn))) r from generate_series(0, 99) g, patients p) select g from s where r = 1",
                  "select (select sum(1) from generate_series(1, ascii(p.ssn))) from patients p",
                  "select (select max(g) from generate_series(1, 999) g where g <= ascii(p.ssn)) from patients p",
                  "select max(g) filter (where g = ascii(p.ssn)) from generate_series(0, 999) g, patients p where p.id = 7",
                  "select case when g = ascii(p.ssn) then g end from generate_series(0, 999) g, patients p",
                  "select v.x from (values (1), (2)) v(x) where v.x = (select ascii(ssn) from patients where id = 7)"] {
            XCTAssertTrue(try values(q)[0].contains(ssnPiece), q)
        }
        XCTAssertEqual(try values("select id from patients order by ssn limit 5"), [[SourceColumn("patients", "id")]])
        // A flag or a LATERAL sub-select whose rows a value chooses, per row of g.
        for q in ["select exists (select 1 from patients p where p.id = 7 and ascii(p.ssn) = g) from generate_series(0, 999) g",
                  "select g in (select ascii(ssn) from patients) from generate_series(0, 999) g",
                  "select (select 1 from patients p where p.id = 7 and ascii(p.ssn) = g) from generate_series(0, 999) g",
                  "select g from generate_series(0, 999) g, lateral (select 1 from patients p where p.id = 7 and ascii(p.ssn) = g) x",
                  "select g from generate_series(0, 999) g cross join lateral (select 1 from patients p where ascii(p.ssn) = g limit 1) x"] {
            XCTAssertTrue(try values(q)[0].contains(ssnPiece), q)
        }
        // A query inside an expression answers with its conditions: a membership test of a
        // value carries a piece of the column it tests.
        XCTAssertEqual(try values("select exists (select 1 from patients where ssn = '1')"), [[ssnPiece]])
        // A column constrained by constants, or by itself, carries nothing more.
        XCTAssertEqual(try values("select ssn from patients where ssn like '9%' and id = 4"), [[ssn]])
        XCTAssertFalse(try values("select p.id from patients p join encounters e on e.patient_id = p.id where p.ssn = '1'")[0]
            .contains { $0.column == "ssn" })
        // A table's `*`: the columns a condition names carry what it relates them to, and
        // so does every other column of the row it chose (a lookup's label is a function of
        // the piece its code was compared with).
        let all = try Lineage.analyze("select l.* from lookup l join patients p on l.code = left(p.ssn, 3)")
        guard case .rows(let s) = all[0] else { return XCTFail() }
        XCTAssertTrue(s.carried("lookup", "code").contains(ssnPiece))
        XCTAssertTrue(s.carried("lookup", "label").contains(ssnPiece))
    }

    func testEverythingAStatementReadsIsKnownForItsErrors() throws {
        for q in ["select p.id from patients p where ssn::int > 0", "select 1 from patients order by chr(ascii(ssn) * 100000)",
                  "explain analyze select id from patients where make_date(2000, substr(ssn, 1, 2)::int, 1) is null",
                  "create table t as select id from patients where ssn::int > 0",
                  "select e.id from encounters e join patients p on p.id = e.patient_id and xmlparse(document ssn) is null",
                  "with t as (select ssn::int v from patients) select count(*) from t"] {
            XCTAssertTrue(try Lineage.trace(q).last!.reads.contains { $0.table == "patients" && $0.column == "ssn" }, q)
        }
        XCTAssertTrue(try Lineage.trace("do $$ begin perform 1; end $$")[0].reads.contains(.untraced))
    }

    func testWritesToServerStateAreKnown() throws {
        let cases: [(String, Parks)] = [
            ("select set_config('application_name', ssn, false) from patients", .settings),
            ("select setval('s', length(ssn)) from patients", .catalog), ("select pg_notify('c', ssn) from patients", .notify),
            ("do $$ begin perform 1; end $$", .code), ("select my_function(ssn) from patients", .code),
            ("call my_procedure(1)", .code)]
        for (q, parks) in cases { XCTAssertEqual(try Lineage.trace(q)[0].parks, parks, q) }
        XCTAssertEqual(try Lineage.trace("select upper(ssn) from patients")[0].parks, [])
        XCTAssertEqual(try Lineage.trace("select pg_notify('c', ssn), pg_notify(ssn, 'x') from patients")[0].channels, ["c", "*"])
        XCTAssertTrue(try Lineage.trace("insert into t select ssn from patients")[0].writes)
        XCTAssertTrue(try Lineage.trace("select ssn into t from patients")[0].writes)
    }

    func testANameTheDatabaseRedefinesIsNotTheBuiltIn() throws {
        XCTAssertFalse(try values("select upper(p.id) from patients p")[0].contains(.untraced))
        XCTAssertTrue(try values("select upper(p.id) from patients p", shadowing: ["upper"])[0].contains(.untraced))
        XCTAssertTrue(try values("select p.id + 0 from patients p", shadowing: ["+"])[0].contains(.untraced))
        XCTAssertTrue(try values("select p.id operator(s.+) 0 from patients p")[0].contains(.untraced))
        XCTAssertTrue(try values("select s.upper(p.id) from patients p")[0].contains(.untraced))
        XCTAssertTrue(try values("select lower(p.mrn) from patients p", shadowing: ["*"])[0].contains(.untraced))
        XCTAssertEqual(try Lineage.trace("create function public.upper(int) returns int as 'select 1' language sql")[0].defines, ["upper"])
        XCTAssertEqual(try Lineage.trace("create operator s.+ (leftarg = int, rightarg = int, function = f)")[0].defines, ["+"])
        XCTAssertEqual(try Lineage.trace("alter function f(int) rename to lower")[0].defines, ["lower"])
        XCTAssertNil(try Lineage.trace("do $$ begin perform 1; end $$")[0].defines)
        XCTAssertNil(try Lineage.trace("create extension citext")[0].defines)
        XCTAssertEqual(try Lineage.trace("select 1")[0].defines, [])
    }

    func testAnOrderCarriesItsKeyWithoutALimitToo() throws {
        // Whoever reads the first rows (an outer DISTINCT ON, an aggregate, a FETCH, the
        // client) reads what the key made them: the columns the key relates to a value.
        for q in ["select i, g from generate_series(1, 9) i, generate_series(0, 999) g, patients p order by i, abs(g - ascii(substr(p.ssn, i, 1)))",
                  "select i, g, abs(g - ascii(substr(p.ssn, i, 1))) k from generate_series(1, 9) i, generate_series(0, 999) g, patients p order by 1, k",
                  "select i, g, abs(g - ascii(substr(p.ssn, i, 1))) from generate_series(1, 9) i, generate_series(0, 999) g, patients p order by 1, 3",
                  "select distinct on (i) i, g from (select i, g from generate_series(1, 9) i, generate_series(0, 999) g, patients p order by i, abs(g - ascii(substr(p.ssn, i, 1)))) x"] {
            XCTAssertTrue(try values(q)[1].contains(ssnPiece), q)
        }
        // GROUP BY by place or by name too: the number of groups carries the key.
        for q in ["select count(*) from (select ascii(p.ssn) from patients p group by 1) s",
                  "select count(*) from (select ascii(p.ssn) a from patients p group by a) s"] {
            XCTAssertTrue(try values(q)[0].contains(ssnPiece), q)
        }
        // A key that names no other column leaves the others alone.
        XCTAssertEqual(try values("select id from patients order by ssn"), [[SourceColumn("patients", "id")]])
    }

    func testANamedWindowOrdersLikeOneWrittenInline() throws {
        let q = "select first_value(g) over w from generate_series(0, 999) g, patients p window w as (order by abs(g - ascii(p.ssn)))"
        XCTAssertTrue(try values(q)[0].contains(ssnPiece), q)
    }

    func testOnConflictDoUpdateStoresWhatItsSetReads() throws {
        let q = "insert into t values (1, 'x') on conflict (id) do update set note = (select ssn from patients where id = 1) returning note"
        XCTAssertTrue(try values(q)[0].contains(where: { $0.table == "patients" && $0.column == "ssn" }), q)
    }

    /// Statements that run a query stored earlier say which (hoop-mask reads their errors
    /// as reading what it reads); DDL computed over a table's rows reads the whole table.
    func testWhatRunsAStoredQueryOrComputesOverATableSaysSo() throws {
        func t(_ q: String) throws -> Traced { try Lineage.trace(q)[0] }
        XCTAssertEqual(try t("move all in c").runsStored, [.cursor("c")])
        XCTAssertEqual(try t("fetch 5 from c").runsStored, [.cursor("c")])
        XCTAssertEqual(try t("execute p(1)").runsStored, [.prepared("p")])
        XCTAssertEqual(try t("explain analyze execute p").runsStored, [.prepared("p")])
        XCTAssertEqual(try t("create temp table x as execute p").runsStored, [.prepared("p")])
        for q in ["commit", "end", "commit and chain", "prepare transaction 'x'"] { XCTAssertEqual(try t(q).runsStored, [.heldCursors], q) }
        XCTAssertEqual(try t("rollback").runsStored, [])
        XCTAssertEqual(try t("select 1").runsStored, [])
        for (q, table) in [("create index on t3 (lower(d))", "t3"), ("alter table t4 alter column s type int using s::int", "t4"),
                           ("refresh materialized view mv", "mv"), ("cluster patients using p_pkey", "patients"),
                           ("reindex table patients", "patients"), ("vacuum (analyze) patients", "patients"),
                           ("analyze patients", "patients")] {
            XCTAssertTrue(try t(q).reads.contains(SourceColumn(table, "*")), q)
        }
        for q in ["vacuum", "analyze", "reindex database clinic", "cluster"] { XCTAssertTrue(try t(q).reads.contains(.untraced), q) }
    }
}
