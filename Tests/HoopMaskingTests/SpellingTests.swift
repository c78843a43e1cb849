import Foundation
import XCTest
@testable import HoopMasking

/// Identifiers in spellings the detectors did not read (each test fails on the tree before
/// them): dates in other forms, e-mail addresses with non-ASCII or quoted parts and
/// written out, CIDR suffixes, IPv6 zones, URLs without a scheme, names in a script
/// without case under a key or in a column that says name. Failure messages carry labels,
/// entities and byte offsets, never the values.
final class SpellingTests: XCTestCase {
    // MARK: dates

    func testDatesInOtherSpellingsAloneAndInText() {
        let forms = ["09MAR84", "9Mar84", "09-MAR-1984", "09.MAR.1984", "9/Mar/84", "1984-Mar-09", "1984/Mar/09",
                     "1984.MAR.09", "1984 Mar 09", "1984 March 9", "1984 03 09", "Mar 9 '84", "9 Mar '84",
                     "March 9, '84", "1984年3月9日", "1984년 3월 9일"]
        for (k, f) in forms.enumerated() {
            assertMasked(f, f, .date, "form \(k) alone")
            assertMasked(#"{"dob": "\#(f)"}"#, f, .date, "form \(k) in JSON")
            assertMasked("12,\(f),F", f, .date, "form \(k) in CSV")
            assertMasked("Patient was seen on \(f) for a rash follow-up.", f, .date, "form \(k) in a note")
        }
        assertMasked("生年月日：1984年3月9日", "1984年3月9日", .date, "CJK date after its label")
    }

    func testTwoDigitYearsOnlyWhereUnambiguous() {
        // The year can be nothing else (above 31 at an end): in a field or after a label.
        for f in ["84-03-09", "84/03/09"] {
            assertMasked(f, f, .date, "YY-MM-DD alone")
            assertMasked(#"{"birthDate":"\#(f)"}"#, f, .date, "YY-MM-DD in JSON")
            assertMasked("DOB \(f) verified", f, .date, "YY-MM-DD after its label")
        }
        // Versions keep their dots; part numbers, ratios and scores stay.
        for v in ["11.30.56", "20.12.65", "84.03.09", "1.2.3", "v1.2.3.4", "12-10-08-A", "10:30:45", "$1984.03"] {
            assertClear(v, .date, "a version, time, price or part")
        }
        assertClear("scores 2019 11 23 45 in the table", .date, "a run of numbers")
        assertClear("call 1984 03 09 12", .date, "digit groups of a longer number")
        // "5 March" is a day without its year (flagged in a note), but "20" is a count, not its year.
        let count = "On 5 March 20 patients were enrolled in the trial."
        let twenty = Array(count.utf8).firstIndex(of: ch("2"))!
        XCTAssertFalse(standardMasker.detect(count).contains { $0.start <= twenty && $0.end > twenty }, "two bare digits are a count")
        assertClear("in 2024 may 05 items ship", .date, "lower-case may")
    }

    func testCompactDatesAfterADatesLabel() {
        for s in ["Date 19840309", "date of service 19840309 noted", "pt dated 19840309", "DOS: 19840309 x"] {
            assertMasked(s, "19840309", .date, "compact after a date label")
        }
        assertClear("order 19840309 shipped to the warehouse", .date, "an order number in prose")
        assertClear("date 2024-03-05 10:22:31 request served", .date, "a timestamp after 'date' stays an event's")
    }

    // MARK: e-mail

    func testEmailsWithNonASCIIQuotedAndTaggedParts() {
        let addresses = ["josé.müller@exämple.de", "用户@例子.公司", "пользователь@пример.рф", "user@xn--exmple-cua.de",
                         "jane+tag@mail.example.co.uk", "jane.doe@sub.mail.example-clinic.org", #""john doe"@example.com"#,
                         "ユーザー@例え.jp"]
        for (k, a) in addresses.enumerated() {
            assertMasked(a, a, .email, "address \(k) alone")
            assertMasked("Contact the patient at \(a) today.", a, .email, "address \(k) in a note")
        }
        // Quoted inside a JSON string, escaped: the span takes the escapes, not the document's quotes.
        let json = #"{"email": "\"john doe\"@example.com"}"#
        let masked = standardMasker.maskText(json).value ?? ""
        XCTAssertNotNil(try? JSONSerialization.jsonObject(with: Data(masked.utf8)), "masked JSON stays well formed")
        XCTAssertFalse(masked.contains("john"), "quoted local part masked")
        assertClear(#"{"a":"x","b":"@example.com"}"#, .email, "JSON quotes are no quoted local part")
        assertClear("用户，请发邮件。谢谢", .email, "no @, no address")
    }

    func testEmailsWrittenOut() {
        for s in ["jane at example dot com", "jane [at] example [dot] com", "jane(at)example(dot)org", "j.doe [at] mail.example.de",
                  "JANE AT EXAMPLE DOT COM", "jane at example dot co dot uk", "reach me: jdoe {at} clinic-mail {dot} net"] {
            let spans = standardMasker.detect(s).filter { $0.entity == .email }
            XCTAssertEqual(spans.count, 1, "a written-out address: \(spans)")
        }
        for s in ["We looked at the dot com era of the nineties.", "Meet at noon. Then lunch.", "pointed at the dot in the image",
                  "seen at home dot matrix printer", "arrived at St. Mary dot", "stared at screen dot is red",
                  "Available at example.com today"] {
            assertClear(s, .email, "prose with at and dot")
        }
    }

    // MARK: IP addresses and URLs

    func testIPAddressesWithPrefixesAndZones() {
        for a in ["10.1.2.3/24", "192.168.0.0/16", "2001:db8::/32", "fe80::1%eth0", "fe80::a:b%en0/64", "::ffff:192.0.2.128",
                  "2001:db8:85a3::8a2e:370:7334", "FE80::0202:B3FF:FE1E:8329"] {
            assertMasked("route \(a) via gw", a, .ipAddress, "an address with its suffix")
        }
        assertClear("10.1.2.3/45 is no prefix", .ipAddress, "a prefix above 32: not one")
        assertClear("ratio 1/24 and 3.5/10", .ipAddress, "fractions")
    }

    func testURLsWithoutAScheme() {
        for u in ["www.example-clinic.org/patients/123", "portal.example.com/p?id=12345", "example.com/path",
                  "patient-portal.hospital.net/login?user=jdoe", "mychart.example-health.org:8443/app/visit/88",
                  "records.例子.公司/病人/12", "clinic.example.de/akte/77"] {
            assertMasked(u, u, .url, "a URL without a scheme alone")
            assertMasked("see \(u) for the record.", u, .url, "a URL without a scheme in a note")
        }
        for s in ["gen.tab/Makefile.am", "configure/Makefile.am", "mg/kg 1.5/day b.i.d./prn", "e.g./i.e.", "v1.2/api",
                  "lib/python3.11/site-packages", "arn:aws:s3:::my.bucket.com/key", "/srv/www/example.com/index.html",
                  "mydb.abc123.us-east-1.rds.amazonaws.com", "10.1.2.3/24"] {
            assertClear(s, .url, "a path, a ratio, an ARN or a bare host")
        }
        XCTAssertEqual(standardMasker.detect(#"{"system": "loinc.org/8302-2"}"#).filter { $0.entity == .url }, [],
                       "a code system's namespace")
    }

    // MARK: names in a script without case

    func testCaselessNamesUnderANameKey() {
        let cases: [(String, [String])] = [
            (#"{"patientName":"王小明"}"#, ["王小明"]), (#"{"PatientName": "김민준"}"#, ["김민준"]),
            (#"{"pt_nm":"佐藤 花子"}"#, ["佐藤 花子"]), (#"{"nombre":"דוד כהן"}"#, ["דוד כהן"]),
            (#"{"name1":"محمد أحمد"}"#, ["محمد أحمد"]), (#"{"姓名":"王小明"}"#, ["王小明"]),
            (#"{"이름": "김민준", "나이": 34}"#, ["김민준"]), (#"{"fname":"राहुल","lname":"शर्मा"}"#, ["राहुल", "शर्मा"]),
            (#"{"name":{"family":"佐藤","given":["花子","美咲"]}}"#, ["佐藤", "花子", "美咲"]),
            (#"{"surname":{"S":"สมชาย"}}"#, ["สมชาย"]), (#"{"name":{"text":"王小明"}}"#, ["王小明"]),
            ("患者氏名：山田太郎", ["山田太郎"]), ("name=王小明&age=3", ["王小明"]),
        ]
        for (k, (text, names)) in cases.enumerated() {
            for n in names { assertMasked(text, n, .personName, "case \(k)") }
            // Spans never take a document's quotes: the masked JSON parses.
            if text.hasPrefix("{") {
                let masked = standardMasker.maskText(text).value ?? ""
                XCTAssertNotNil(try? JSONSerialization.jsonObject(with: Data(masked.utf8)), "case \(k): masked JSON stays well formed")
            }
        }
        let pair = standardMasker.detect("姓名：王小明 性别：男").filter { $0.entity == .personName }
        XCTAssertEqual(pair.count, 1)
        XCTAssertEqual(pair.first.map { $0.end - $0.start }, 9, "the name only, not the next label")
        for s in [#"{"city":"北京"}"#, #"{"description":"内科の説明です"}"#, #"{"filename":"报告.pdf"}"#, #"{"title":"主任"}"#] {
            assertClear(s, .personName, "a caseless value under another key, or not a name's shape")
        }
        // A name found once is the name wherever else it stands in the value.
        assertMasked(#"王小明 | {"name": "王小明"}"#, "王小明", .personName, "repeated")
    }

    func testCaselessNamesInAColumnThatSaysName() throws {
        for (column, value) in [("patient_name", "김민준"), ("familyName", "佐藤"), ("given_nm", "花子"), ("氏名", "山田 太郎"),
                                ("PATIENTNAME", "王小明"), ("fullname", "ราหุล ใจดี")] {
            let r = try standardMasker.mask(value, table: "t", column: column, typeOID: 25)
            XCTAssertEqual(r.counts, ["PERSON_NAME": 1], "column \(column)")
            XCTAssertFalse((r.value ?? "").contains(value), "column \(column): masked")
        }
        for (column, value) in [("department", "内科"), ("city", "北京"), ("patient_name", "报告2024"), ("note", "王小明"), ("dept_name", "内科")] {
            XCTAssertEqual(try standardMasker.mask(value, table: "t", column: column, typeOID: 25).counts, [:], "column \(column) stays")
        }
        // A column of such values is a name column in a result, whatever its name.
        var profile = NameColumnProfile()
        for k in 0..<30 { profile.add(["王小明", "김민준", "佐藤 花子", "דוד כהן", "สมชาย ใจดี"][k % 5], standardMasker) }
        XCTAssertTrue(profile.isNameColumn)
    }
}
