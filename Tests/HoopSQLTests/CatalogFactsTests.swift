import XCTest
@testable import HoopSQL

/// What the classifier records for the catalog to decide (issue 16), and what the facts
/// make of it.
final class CatalogFactsTests: XCTestCase {
    func one(_ sql: String) -> StatementClass { Classifier.classify(sql).statements[0] }

    func testTheClassifierRecordsWhatTheCatalogDecides() {
        XCTAssertEqual(one("select lower('A'), count(*) from t").functionsCalled, ["lower", "count"])
        XCTAssertEqual(one("select pg_catalog.lower('A')").functionsCalled, [], "a qualified built-in is the built-in")
        XCTAssertTrue(one("select s.f(1)").functionsCalled.isEmpty, "another schema's function is hidden work already")
        XCTAssertEqual(one("select 1 ## 2").operatorsUsed, ["##"])
        XCTAssertEqual(one("select 1 operator(pg_catalog.+) 2").operatorsUsed, [])
        XCTAssertEqual(one("select * from t where a between 1 and 2").operatorsUsed, [">=", "<=", "<", ">"])
        XCTAssertEqual(one("select * from t where a in (select b from u)").operatorsUsed, ["="])
        XCTAssertEqual(one("select * from t where a like 'x%'").operatorsUsed, ["~~"])
        XCTAssertEqual(one("select case a when 1 then 2 end from t").operatorsUsed, ["="])
        XCTAssertEqual(one("select * from t order by a using <<<").operatorsUsed, ["<<<", "=", "<", ">"])
        XCTAssertEqual(one("select a from t group by a").operatorsUsed, ["=", "<", ">"], "GROUP BY compares with the type's operators")
        XCTAssertEqual(one("select a from t union select b from u").operatorsUsed, ["=", "<", ">"])
        XCTAssertEqual(one("select count(*) from t join u using (k)").operatorsUsed, ["="], "USING compares with =")
        XCTAssertEqual(one("select count(*) from t natural join u").operatorsUsed, ["="])
        XCTAssertEqual(one("select 'x'::s.checked, 'y'::checked2, 1::int, '{}'::jsonb").typesCast, ["s.checked", "checked2", "jsonb"])
        XCTAssertEqual(one("select cast('y' as s.d[])").typesCast, ["s.d"])
        XCTAssertEqual(one("select * from jsonb_to_record('{}') as x(a s.d)").typesCast, ["s.d"], "a column definition list")
        XCTAssertEqual(one("select xmlserialize(content xml '<a/>' as s.d)").typesCast, ["s.d", "xml"])
        XCTAssertEqual(Classifier.classify("prepare p(s.d) as select $1").statements[0].preparedBody[0].typesCast, ["s.d"],
                       "PREPARE's parameters are made as their types at EXECUTE")
        XCTAssertEqual(one("select setval('s', 1)").kind, .write, "a sequence is written")
        XCTAssertEqual(one("select lo_unlink(1)").kind, .write, "a large object is deleted")
        XCTAssertFalse(one("select 1").needsCatalog)
        XCTAssertFalse(one("begin").needsCatalog)
        XCTAssertTrue(one("select now()").needsCatalog)
    }

    func testExplainCarriesWhatPlanningWouldRun() {
        let e = one("explain select s.wipe(1)")
        XCTAssertEqual(e.command, "EXPLAIN")
        XCTAssertFalse(e.hidden.isEmpty, "planning folds immutable functions: the user function is hidden work")
        XCTAssertTrue(e.flags.contains(.userFunction))
        let w = one("explain insert into items values (1)")
        XCTAssertEqual(w.tablesWritten, [], "EXPLAIN writes nothing")
        XCTAssertEqual(w.writesPlanned, ["items"])
        XCTAssertEqual(one("explain (analyze false) select 1 ## 2").operatorsUsed, ["##"])
    }

    func facts() -> CatalogFacts {
        typealias N = CatalogFacts.Node
        let names: [N: (schema: String, name: String)] = [
            N(.relation, 1): ("app", "items"), N(.relation, 2): ("app", "item_view"), N(.relation, 3): ("app", "parent"),
            N(.relation, 4): ("app", "child"), N(.relation, 5): ("app", "plain"), N(.type, 10): ("app", "checked"),
            N(.type, 11): ("app", "checked2"), N(.relation, 6): ("app", "typed"), N(.relation, 7): ("app", "fn_view"),
        ]
        return CatalogFacts.build(
            functionNames: ["lower", "touch"], operatorNames: ["##"], names: names,
            reads: [N(.relation, 7): "its definition calls app.touch"],
            writes: [N(.relation, 1): "trigger t runs app.trg", N(.relation, 4): "rule r runs statements of its own",
                     N(.type, 10): "constraint c calls app.check"],
            readFlows: [N(.relation, 7): [N(.relation, 2)]],
            writeFlows: [N(.relation, 1): [N(.relation, 2)], N(.relation, 4): [N(.relation, 3)],
                         N(.type, 10): [N(.type, 11)], N(.type, 11): [N(.relation, 6)]])
    }

    func testFactsNameTheCodeAStatementWouldRun() {
        let f = facts()
        func why(_ sql: String) -> [String] { f.hiddenWork(one(sql)) }
        XCTAssertEqual(why("select lower(1)").count, 1, "a function of the database's own has a built-in's name")
        XCTAssertEqual(why("select upper('a')"), [])
        XCTAssertEqual(why("select 1 ## 2").count, 1)
        XCTAssertEqual(why("insert into items values (1)").first, "writing items: trigger t runs app.trg")
        XCTAssertEqual(why("update app.items set v = 1 where id = 1").count, 1, "qualified names too")
        XCTAssertEqual(why("select * from items where id = 1"), [], "a trigger does not fire on reads")
        XCTAssertEqual(why("insert into item_view values (1)").first, "writing item_view: through app.items, trigger t runs app.trg")
        XCTAssertEqual(why("delete from parent where id = 1").count, 1, "a cascade to a table with a rule")
        XCTAssertEqual(why("insert into typed values ('x')").count, 1, "a column of a domain over a checked domain")
        XCTAssertEqual(why("select 'x'::app.checked2").count, 1)
        XCTAssertEqual(why("select * from item_view").count, 1, "a view of a view that calls a function")
        XCTAssertEqual(why("insert into plain values (1)"), [])
        XCTAssertEqual(why("explain insert into items values (1)").count, 1, "EXPLAIN plans the write")
        XCTAssertEqual(why("explain select * from fn_view").count, 1)
        XCTAssertEqual(why("analyze items").count, 1, "ANALYZE computes index expressions")
        XCTAssertEqual(why("vacuum (analyze) app.items").count, 1)
        XCTAssertEqual(why("vacuum items").count, 1, "VACUUM summarises BRIN ranges: index expressions")
        XCTAssertEqual(why("select brin_summarize_new_values('items_brin')").count, 1, "index maintenance: every table")
        XCTAssertEqual(why("analyze").count, 1, "every table")
        XCTAssertEqual(CatalogFacts().hiddenWork(one("analyze")), [], "no table runs code")
    }

    func testATypesCodeRunsWhereverAValueIsMade() {
        typealias N = CatalogFacts.Node
        // A view whose definition casts to a checked domain: reading it runs the check.
        let f = CatalogFacts.build(functionNames: [], operatorNames: [],
                                   names: [N(.type, 1): ("app", "checked"), N(.relation, 2): ("app", "casting_view")],
                                   reads: [:], writes: [N(.type, 1): "constraint c calls app.check"],
                                   readFlows: [N(.type, 1): [N(.relation, 2)]], writeFlows: [:])
        XCTAssertEqual(f.hiddenWork(one("select * from casting_view")), ["reading casting_view: through app.checked, constraint c calls app.check"])
    }

    func testWithoutFactsAStatementThatNeedsThemIsHidden() {
        let c = CatalogFacts.unknown(Classifier.classify("select 1; select * from t; begin"), because: "the catalog could not be read")
        XCTAssertEqual(c.statements.map { $0.hidden.isEmpty }, [true, false, true])
    }

    /// A write that pins columns no key's name says is bounded only by a unique key the
    /// catalog knows: all its columns pinned, on the very table written (by bare name, a
    /// key every relation of that name has).
    func testUniqueKeysBoundWritesThatPinThem() {
        let t = CatalogFacts.Node(.relation, 1), u = CatalogFacts.Node(.relation, 2), other = CatalogFacts.Node(.relation, 3)
        let facts = CatalogFacts.build(functionNames: [], operatorNames: [],
                                       names: [t: ("public", "accounts"), u: ("public", "visits"), other: ("audit", "visits")],
                                       reads: [:], writes: [:], readFlows: [:], writeFlows: [:],
                                       uniqueKeys: [t: [["aid"], ["region", "code"]], u: [["code"]]])
        func unbounded(_ sql: String) -> Bool { facts.apply(Classifier.classify(sql)).statements[0].unboundedWrite }
        XCTAssertFalse(unbounded("update accounts set abalance = 1 where aid = 5"))
        XCTAssertFalse(unbounded("update public.accounts set abalance = 1 where aid = $1 and abalance > 0"))
        XCTAssertFalse(unbounded("delete from accounts a where a.aid in (1, 2, 3)"))
        XCTAssertFalse(unbounded("delete from accounts where region = 'n' and code = 'x'"))
        XCTAssertTrue(unbounded("delete from accounts where code = 'x'"), "half of a composite key")
        XCTAssertTrue(unbounded("delete from accounts where aid between 1 and 5"), "a range of a unique column: any number of values")
        XCTAssertTrue(unbounded("delete from accounts where abalance = 0"), "not a key")
        XCTAssertTrue(unbounded("delete from accounts a using visits v where v.aid = 5"), "another relation's column")
        XCTAssertTrue(unbounded("delete from accounts where aid = 5 or abalance = 0"))
        XCTAssertTrue(unbounded("delete from visits where code = 'x'"), "audit.visits has no such key: a bare name may be it")
        XCTAssertFalse(unbounded("delete from public.visits where code = 'x'"))
        XCTAssertTrue(unbounded("delete from audit.visits where code = 'x'"))
        XCTAssertTrue(unbounded("delete from elsewhere where aid = 5"), "a table the catalog does not show")
        XCTAssertTrue(unbounded("with d as (delete from accounts where aid = 1) delete from accounts where abalance = 0"),
                      "every write of the statement must be bounded")
        XCTAssertTrue(unbounded("with d as (delete from accounts where aid = 1) delete from accounts"))
        XCTAssertFalse(unbounded("with d as (delete from accounts where aid = 1) delete from public.accounts where aid = 2"))
        // Pieces the catalog bounds add up, with the statement's other writes (review s43).
        let six = (1...600).map(String.init).joined(separator: ",")
        XCTAssertTrue(unbounded("with d as (delete from accounts where aid in (\(six))) delete from public.accounts where aid in (\(six))"))
        XCTAssertTrue(unbounded("with d as (delete from encounters where id in (\(six)) returning 1) delete from accounts where aid in (\(six))"))
        XCTAssertFalse(unbounded("with d as (delete from encounters where id in (1, 2) returning 1) delete from accounts where aid in (\(six))"))
        XCTAssertTrue(unbounded("truncate accounts"))
        // A composite key's values multiply; a float cast compares many values equal.
        let hundred = (1...100).map(String.init).joined(separator: ",")
        XCTAssertTrue(unbounded("delete from accounts where region in (\(hundred)) and code in (\(hundred))"), "10,000 combinations")
        XCTAssertFalse(unbounded("delete from accounts where region in (1, 2) and code in (1, 2, 3)"))
        XCTAssertTrue(unbounded("delete from accounts where aid = 1::float8"))
        XCTAssertFalse(unbounded("delete from public.visits where code in (select 'x')"), "a unique key's values from a sub-select")
        XCTAssertTrue(unbounded("delete from public.visits where code in (select unnest('{\((1...2000).map(String.init).joined(separator: ","))}'::text[]))"))
        XCTAssertTrue(CatalogFacts.unknown(Classifier.classify("delete from accounts where aid = 5"), because: "down")
            .statements[0].unboundedWrite, "without the catalog it stays unbounded (held)")
    }

    /// A read bounded by a key's name is bounded only as far as the catalog confirms it: a
    /// unique key the pins hold, or statistics by which each value has few rows (plus
    /// every row modified since ANALYZE).
    func testKeyNamedReadsAreBoundedOnlyByTheCatalog() {
        let enc = CatalogFacts.Node(.relation, 1), pat = CatalogFacts.Node(.relation, 2), vis = CatalogFacts.Node(.relation, 3),
            view = CatalogFacts.Node(.relation, 4)
        var facts = CatalogFacts.build(functionNames: [], operatorNames: [],
                                       names: [enc: ("public", "encounters"), pat: ("public", "patients"), vis: ("public", "visits"),
                                               view: ("public", "enc_v")],
                                       reads: [:], writes: [:], readFlows: [:], writeFlows: [:],
                                       uniqueKeys: [enc: [["id"]], pat: [["id"]]])
        func stats(_ mcvMax: Double, _ distinct: Double) -> CatalogFacts.ColumnStats {
            .init(nullFraction: 0, distinct: distinct, mostCommonMax: mcvMax, mostCommonSum: mcvMax, mostCommonCount: 1)
        }
        facts.setStatistics([
            (labels: ["public.encounters", "encounters"], rows: 20000, modified: 0,
             columns: ["provider_id": stats(0.009, 150), "patient_id": stats(0.0005, 5000)]),
            (labels: ["public.patients", "patients"], rows: 5000, modified: 0, columns: [:]),
            (labels: ["public.visits", "visits"], rows: 1500, modified: 0, columns: ["tenant_id": stats(1, 1), "id": stats(0.5, 2)]),
        ])
        func bounded(_ sql: String) -> Bool { facts.apply(Classifier.classify(sql)).statements[0].readsBounded }
        XCTAssertTrue(Classifier.classify("select * from visits where tenant_id = 1").statements[0].readsBounded, "the text alone trusts the name")
        XCTAssertFalse(bounded("select * from visits where tenant_id = 1"), "every row is tenant 1")
        XCTAssertFalse(bounded("select * from visits where id = 1"), "an id no unique index holds")
        XCTAssertFalse(bounded("select * from (select visits.id as id, note from visits) s where s.id = 1"))
        XCTAssertFalse(bounded("select * from encounters e join visits v on v.id = e.id where e.id = 1"), "one row of e, 750 of v")
        XCTAssertFalse(bounded("select array(select note from visits where tenant_id = 1)"))
        XCTAssertFalse(bounded("delete from visits where tenant_id = 1 returning *"))
        XCTAssertFalse(bounded("select * from enc_v where id = 1"), "a view: no key, no statistics")
        XCTAssertFalse(bounded("select * from elsewhere where id = 1"), "a table the catalog does not show")
        XCTAssertTrue(bounded("select * from encounters where id in (1, 2, 3)"))
        XCTAssertTrue(bounded("select * from encounters where provider_id = 7"), "180 rows at most")
        XCTAssertTrue(bounded("select * from encounters where patient_id = $1"))
        XCTAssertTrue(bounded("select e.*, p.id from encounters e join patients p on p.id = e.patient_id where e.id = 5"))
        XCTAssertTrue(bounded("select p.id, (select count(*) from encounters e where e.patient_id = p.id) from patients p where p.id = 5"))
        XCTAssertTrue(bounded("select * from visits where tenant_id = 1 limit 10"), "a LIMIT needs no key")
        XCTAssertTrue(bounded("select count(*) from visits where tenant_id = 1"))
        XCTAssertFalse(bounded("select * from encounters where provider_id in (1, 2)"), "several parents: unbounded by the text")
        // Rows modified since ANALYZE count as the value's.
        facts.setStatistics([(labels: ["public.encounters", "encounters"], rows: 20000, modified: 900,
                              columns: ["provider_id": stats(0.009, 150)])])
        XCTAssertFalse(bounded("select * from encounters where provider_id = 7"), "180 + 900 rows")
        XCTAssertTrue(bounded("select * from encounters where id = 7"), "a unique key needs no statistics")
        XCTAssertFalse(bounded("select * from encounters where patient_id = 5"), "no statistics for the column now")
        XCTAssertFalse(CatalogFacts.unknown(Classifier.classify("select * from encounters where id = 1"), because: "down")
            .statements[0].hidden.isEmpty, "without the catalog: held")
    }

    /// A bare name two schemas have: by the session's search paths when every one of them
    /// gives the same schema, else the worst of both.
    func testABareNameIsTheSchemaTheSearchPathGives() {
        let pub = CatalogFacts.Node(.relation, 1), arc = CatalogFacts.Node(.relation, 2), owned = CatalogFacts.Node(.relation, 3)
        var facts = CatalogFacts.build(functionNames: [], operatorNames: [],
                                       names: [pub: ("public", "encounters"), arc: ("archive", "encounters"), owned: ("alice", "encounters")],
                                       reads: [arc: "row security policy p calls archive.f"], writes: [:], readFlows: [:], writeFlows: [:],
                                       uniqueKeys: [pub: [["id"]], owned: [["id"]]])
        facts.setSessionDefaults(roleSchemas: ["bob"], defaultSearchPath: "\"$user\", public")
        func judged(_ paths: [String]?) -> StatementClass {
            var f = facts
            f.searchPaths = paths.map { $0.map { SearchPath.schemas($0)! } }
            return f.apply(Classifier.classify("select * from encounters where id = 1")).statements[0]
        }
        XCTAssertFalse(judged(nil).readsBounded, "no path known: the worst of every schema")
        XCTAssertFalse(judged(nil).hidden.isEmpty)
        XCTAssertTrue(judged(["\"$user\", public"]).readsBounded, "public's, keyed")
        XCTAssertTrue(judged(["\"$user\", public"]).hidden.isEmpty, "archive's policy is not public's")
        XCTAssertTrue(judged(["public", "PUBLIC, nowhere"]).readsBounded, "every value gives public")
        XCTAssertFalse(judged(["archive, public"]).readsBounded, "two schemas of the path have it (one may be skipped)")
        XCTAssertFalse(judged(["public", "archive"]).readsBounded, "values that disagree")
        XCTAssertFalse(judged(["\"Archive\""]).readsBounded, "no such schema: the name is not resolved here")
        XCTAssertTrue(judged(["\"public\""]).readsBounded)
        XCTAssertFalse(judged(["archive"]).hidden.isEmpty)
        XCTAssertFalse(judged(["information_schema, public"]).readsBounded)
        // $user: any schema named after a role; not known, nothing is sure.
        facts.setSessionDefaults(roleSchemas: ["alice"], defaultSearchPath: nil)
        XCTAssertFalse(judged(["\"$user\", public"]).readsBounded, "alice's own encounters may come first")
        facts.setSessionDefaults(roleSchemas: nil, defaultSearchPath: nil)
        XCTAssertFalse(judged(["\"$user\", public"]).readsBounded)
        XCTAssertTrue(judged(["public"]).readsBounded)
        XCTAssertNil(CatalogFacts.resolve("pg_x", in: ["a", "b"], paths: [["a"]], roleSchemas: []), "pg_catalog's names come first")
    }

    func testSearchPathValuesAreReadAsTheServerReadsThem() {
        XCTAssertEqual(SearchPath.schemas("\"$user\", public"), ["$user", "public"])
        XCTAssertEqual(SearchPath.schemas(" A ,\"B c\" , \"x\"\"y\""), ["a", "B c", "x\"y"])
        XCTAssertEqual(SearchPath.schemas(""), [])
        XCTAssertNil(SearchPath.schemas("a,,b"))
        XCTAssertNil(SearchPath.schemas("a b"))
        XCTAssertNil(SearchPath.schemas("\"a"))
        XCTAssertEqual(SearchPath.schemas(String(repeating: "s", count: 70))?.first?.count, 63)
        for name in ["public", "a, b", "Archive", "x\"y", "$user", "1a"] {
            XCTAssertEqual(SearchPath.schemas(SearchPath.quoted(name) + ", public"), [name, "public"], name)
        }
    }
}
