import Foundation
import XCTest
@testable import HoopMasking

/// The detectors' rules for values as real records hold them (docs/masking.md, "Bare
/// shapes", "Rules across detectors"): one field rule for every detector, case, phones
/// as people write them, card networks, checksummed account numbers, dates alone, HL7.
/// All values are synthetic (fiction ranges, test IBANs and card numbers).
final class FieldCaseShapeTests: XCTestCase {
    func testFieldRule() {
        func fills(_ text: String, _ value: String) -> Bool {
            let t = Array(text.utf8), v = Array(value.utf8)
            guard let start = (0...(t.count - v.count)).first(where: { Array(t[$0..<($0 + v.count)]) == v }) else { return false }
            return Scan.fillsField(t, start, start + v.count)
        }
        for (text, value) in [("2125550134", "2125550134"), (#"{"tel":"2125550134"}"#, "2125550134"),
                              ("12,2125550134,active", "2125550134"), ("tel=2125550134;x=1", "2125550134"),
                              ("dob: 03/05/1980", "03/05/1980"), ("PID|1||x^2125550134^y", "2125550134"),
                              (#"a,b\n2125550134,c"#, "2125550134"), ("card / 2125550134 / x", "2125550134"),
                              ("<tel>2125550134</tel>", "2125550134")] {
            XCTAssertTrue(fills(text, value), text)
        }
        for (text, value) in [("call 2125550134 today", "2125550134"), ("at 15:30:00 IST", "00 IST"),
                              ("ref 03/05/1980 x", "03/05/1980")] {
            XCTAssertFalse(fills(text, value), text)
        }
    }

    func testPhonesAsPeopleWriteThem() {
        for p in ["+12175550134", "+1-217-555-0134", "+1 (217) 555-0134", "+44 20 7946 0958", "+44(0)117 4960038",
                  "+52 55 1234 5678", "+61 2 9876 5432", "+61-412-345-678", "+33 1 23 45 67 89", "020 7946 0958",
                  "(0113) 496 0123", "0412 345 678", "(02) 9876 5432", "001-217-555-0134", "0044 20 7946 0958",
                  "217.555.0134x1234", "(217)555-0134 ext. 12", "9876 5432"] {
            XCTAssertEqual(found("reach her at \(p) after lunch", .phone), [p], p)
        }
        XCTAssertEqual(found("2125550134", .phone), ["2125550134"])                // NANP alone
        XCTAssertEqual(found("{\"v\": \"02079460958\"}", .phone), ["02079460958"])  // trunk 0
        XCTAssertEqual(found("12,12125550134,x", .phone), ["12125550134"])         // 1 + NANP in a field
        // Not phones: epoch seconds, a date, a date-time, a UUID's groups, a card's first groups, a version, a decimal.
        for s in ["1700000000", "0044-03-15 12:00:00 BC", "2562047788:00:00", "05442339-905e-4155-8354-b47466d76cc6",
                  "card 4111 1111 1111 1112 declined", "v1.2.3.4", "1714.6141 units", "88015027", "order 5550101234"] {
            XCTAssertEqual(found(s, .phone), [], s)
        }
    }

    func testCardNetworks() {
        // Test numbers of each network's range (Luhn-valid).
        for c in ["4111111111111111", "5555555555554444", "2223003122003222", "378282246310005", "6011111111111117",
                  "3530111333300000", "30569309025904", "213100000000001"] {
            XCTAssertEqual(found("paid with \(c).", .cardNumber), [c], c)
        }
        XCTAssertEqual(found("4111-1111-1111-1111 and 3782 822463 10005", .cardNumber), ["4111-1111-1111-1111", "3782 822463 10005"])
        // Luhn-valid but outside every network's range or length.
        XCTAssertEqual(found("7111111111111114 and 1111111111111117", .cardNumber), [])
    }

    func testIBANAndRouting() {
        for iban in ["GB29NWBK60161331926819", "GB29 NWBK 6016 1331 9268 19", "DE89370400440532013000",
                     "ES9121000418450200051332", "FR1420041010050500013M02606", "NL91ABNA0417164300", "gb29nwbk60161331926819"] {
            XCTAssertEqual(found("iban \(iban) on file", .account), [iban], iban)
        }
        XCTAssertEqual(found("GB29NWBK60161331926818", .account), [])                   // mod-97 fails
        XCTAssertEqual(found("ce78d1da254c0843eb23951ae077ff5f", .account), [])         // a hex digest
        XCTAssertEqual(found("routing 021000021", .account), ["021000021"])
        XCTAssertEqual(found("4111111111111111,GB29NWBK60161331926819,021000021", .account),
                       ["GB29NWBK60161331926819", "021000021"])
        XCTAssertEqual(found("order 021000021 shipped", .account), [])                  // prose needs the word
        XCTAssertEqual(found("routing 021000022", .account), [])                        // 3-7-1 check fails
    }

    func testDatesAloneAndMachineTime() {
        for d in ["03/05/1980", "25/12/1980", "1980-03-05", "05.03.1980", "March 5, 1980", "MARCH 5, 1980", "march 5, 1980"] {
            XCTAssertEqual(found(d, .date), [d], d)
            XCTAssertEqual(found("{\"v\": \"\(d)\", \"n\": 1}", .date), [d], d)
        }
        XCTAssertEqual(found("PID|1||x||y||19800305|F", .date), ["19800305"])
        XCTAssertEqual(found("order 19800305 shipped", .date), [])
        // Event timestamps: not in a field, not in prose; a context word still makes them a person's.
        XCTAssertEqual(found("2024-03-05T10:22:31Z", .date), [])
        XCTAssertEqual(found("Event logged at 2024-03-05T10:22:31.5 by the system", .date), [])
        XCTAssertEqual(found("admitted 2024-03-05 10:22:31", .date), ["2024-03-05 10:22:31"])
        XCTAssertEqual(found("Follow-up on 03/14/2026 10:30 for labs.", .date), ["03/14/2026 10:30"])
        // Lineage that proves a column reads nothing keeps its dates.
        XCTAssertEqual(try standardMasker.mask("2024-02-29", typeOID: PGType.date, ignoring: [.date]).value, "2024-02-29")
        XCTAssertEqual(try standardMasker.mask("2024-02-29", typeOID: PGType.date).value, "2024-01-01")
        // An array of dates: each date found, its year kept, as a scalar date's.
        XCTAssertEqual(try standardMasker.mask("{2024-01-01,2024-12-31}", typeOID: 1182).value, "{\"2024-01-01\",\"2024-01-01\"}")
        // A year that says 90 or older is one year for all: this year minus 90 (Safe Harbor).
        let oldest = Calendar(identifier: .gregorian).dateComponents(in: TimeZone(identifier: "UTC")!, from: Date()).year! - 90
        XCTAssertEqual(try standardMasker.mask("1921-07-04", typeOID: PGType.date).value, "\(oldest)-01-01")
        XCTAssertEqual(try standardMasker.mask("\(oldest + 1)-07-04", typeOID: PGType.date).value, "\(oldest + 1)-01-01")
    }

    func testCase() {
        XCTAssertEqual(found("Spoke with MARIA LOPEZ about the results.", .personName), ["MARIA LOPEZ"])
        XCTAssertEqual(found("QUENWICK ZORABEL", .personName), ["QUENWICK ZORABEL"])
        XCTAssertEqual(found("Dr. ADALBERTO VALLADARES", .personName), ["Dr. ADALBERTO VALLADARES"])
        XCTAssertEqual(found("María del Carmen Nieves", .personName), ["María del Carmen Nieves"])
        XCTAssertEqual(found("INÉS RICO SANABRIA", .personName), ["INÉS RICO SANABRIA"])
        XCTAssertEqual(found("jennifer quenwick", .personName), ["jennifer quenwick"])
        // Codes and acronyms are not names.
        for s in ["HOSP", "VS-7253-KR", "Seen in ICU; COPD GOLD stage", "STATUS ACTIVE", "the ball is round"] {
            XCTAssertEqual(found(s, .personName), [], s)
        }
        XCTAssertEqual(found("12 OAK STREET", .streetAddress), ["12 OAK STREET"])
        XCTAssertEqual(found("SPRINGFIELD, IL 62701", .streetAddress), ["SPRINGFIELD"])
        XCTAssertEqual(found("4410 willow ave apt 3", .streetAddress), ["4410 willow ave apt 3"])
        XCTAssertEqual(found("we walked 2 blocks to the Park", .streetAddress), [])
    }

    func testAddressShapes() {
        for a in ["0837 Tran Key", "690 Sanchez Union Suite 625", "Flat 24 586 Kevin Road", "90/36 Ortega Junction",
                  "Studio 8, Leigh Fort", "Calle Sur Montaño 374 068", "Prolongación Zacatecas 690 Edif. 736 , Depto. 625",
                  "EJE VIAL QUINTANA ROO 889 957", "12 Old Mill Road, Apt 4B"] {
            XCTAssertEqual(found(a, .streetAddress), [a], a)
        }
        XCTAssertEqual(found("{\"a\": \"33 Farley Approach\"}", .streetAddress), ["33 Farley Approach"])
        XCTAssertEqual(found("Gave 12 Tablets today", .streetAddress), [])
    }

    func testJSONEscapesAreBoundaries() {
        XCTAssertEqual(found(#"id,card\n4111111111111111,x"#, .cardNumber), ["4111111111111111"])
        XCTAssertEqual(found(#"{"n": "a,b\nMaria Quenwick,x"}"#, .personName), ["Maria Quenwick"])
        XCTAssertEqual(found(#"c:\\n4111111111111111"#, .cardNumber), [])   // an escaped backslash, then "n4111…"
    }

    func testHL7Fields() {
        let pid = "PID|1||MRN-53719334^^^HOSP^MR||ORCHARD^OLIVE^||19300805|F|||5337 WALNUT AVENUE^UNIT 23^FRANKLIN^TN^37074||07700 900532"
        let t = Array(pid.utf8)
        let spans = standardMasker.detect(pid).map { ($0.entity, String(decoding: t[$0.start..<$0.end], as: UTF8.self)) }
        XCTAssertTrue(spans.contains { $0 == (.personName, "ORCHARD^OLIVE^") }, "\(spans)")
        XCTAssertTrue(spans.contains { $0 == (.date, "19300805") })
        XCTAssertTrue(spans.contains { $0 == (.streetAddress, "5337 WALNUT AVENUE^UNIT 23^FRANKLIN^TN^37074") })
        XCTAssertTrue(spans.contains { $0 == (.phone, "07700 900532") })
        XCTAssertEqual(found(pid.lowercased(), .personName), ["orchard^olive^"])
    }

    func testOverlapKeepsFreeParts() {
        let spans = Detectors.resolve([DetectedSpan(.streetAddress, 0, 20), DetectedSpan(.phone, 5, 10)], length: 20,
                                      text: Array("aaaaa1234567890bbbbb".utf8))
        XCTAssertEqual(spans, [DetectedSpan(.streetAddress, 0, 5), DetectedSpan(.phone, 5, 10), DetectedSpan(.streetAddress, 10, 20)])
    }

    func testNamesRepeatAcrossRulesAndColumns() {
        // LARKSPUR is found with QUINN (no English word); then it is a name everywhere in the value.
        XCTAssertEqual(found(#"{"QUINN LARKSPUR","SAWYER LARKSPUR"}"#, .personName), ["QUINN LARKSPUR", "SAWYER LARKSPUR"])
        var profile = NameColumnProfile()
        let column = (0..<25).map { ["QUENWICK ZORABEL", "MARIA LOPEZ", "XEN VANTONGEREN", "KETTERING"][$0 % 4] }
        for v in column { profile.add(v, standardMasker) }
        XCTAssertTrue(profile.isNameColumn)
        let r = standardMasker.maskAsName("OLIVE ORCHARD", result: try! standardMasker.mask("OLIVE ORCHARD"))
        XCTAssertEqual(r.value, "[PERSON_NAME]")
        var departments = NameColumnProfile()
        for v in (0..<25).map({ ["Cardiology", "Internal Medicine", "Pediatrics", "Emergency"][$0 % 4] }) { departments.add(v, standardMasker) }
        XCTAssertFalse(departments.isNameColumn)
    }

    /// Each family an outside review found (synthetic values), one case or more each.
    func testReviewFindings() {
        // JSON escapes before dates, phones and after names; \uXXXX escapes.
        XCTAssertEqual(found(#"KETTERING ELENA\n08/05/1930"#, .date), ["08/05/1930"])
        XCTAssertEqual(found(#"dob\t03/05/1980"#, .date), ["03/05/1980"])
        XCTAssertEqual(found(#"a\n+442079460958"#, .phone), ["+442079460958"])
        XCTAssertEqual(found(#"\u003cdob\u003e1980-03-05\u003c/dob\u003e"#, .date), ["1980-03-05"])
        XCTAssertEqual(found(#"\u003e4111111111111111"#, .cardNumber), ["4111111111111111"])
        // ALL CAPS: Last, First; a title before one word.
        XCTAssertEqual(found("UNDERHILL, FELIX", .personName), ["UNDERHILL", "FELIX"])
        XCTAssertEqual(found("Mr. KETTERING", .personName), ["Mr. KETTERING"])
        // Cards next to other numbers.
        XCTAssertEqual(found("121 2559127940118807", .cardNumber), ["2559127940118807"])
        XCTAssertEqual(found("4111 1111 1111 1111 0425", .cardNumber), ["4111 1111 1111 1111"])
        XCTAssertEqual(found("5555-5555-5555-4444-123", .cardNumber), ["5555-5555-5555-4444"])
        // HL7: separators defined in MSH, the null "".
        let msh = "MSH#^~\\&#A\rPID#1##X##ORCHARD^OLIVE##19800305#F"
        XCTAssertEqual(found(msh, .date), ["19800305"])
        XCTAssertEqual(found(msh, .personName), ["ORCHARD^OLIVE"])
        XCTAssertEqual(found(#"PID|1||X|""|ORCHARD^OLIVE||19800305|F|||A||5550101234|||||ACCT99|123456789"#, .ssn), ["123456789"])
        // Phones: separators, French pairs, long 00 numbers, Unicode dashes and spaces.
        for p in ["415/555-0132", "415 - 555 - 0132", "(415) 555 - 0132", "020  7946  0278", "01 42 68 53 00",
                  "00442079460958", "415\u{2013}555\u{2013}0132", "415\u{00A0}555\u{00A0}0132"] {
            XCTAssertEqual(found("tel \(p) ok", .phone), [p], p)
        }
        // Separators elsewhere: cards, IBANs.
        XCTAssertEqual(found("4111.1111.1111.1111", .cardNumber), ["4111.1111.1111.1111"])
        XCTAssertEqual(found("GB29-NWBK-6016-1331-9268-19", .account), ["GB29-NWBK-6016-1331-9268-19"])
        // Dates: to_char's padded month, DD-Mon-YYYY, single-digit ISO, a cast to a timestamp, "1: date".
        for d in ["August    05, 1930", "05-Aug-1930", "1980-3-5", "1930-08-05T00:00:00", "1930-08-05 00:00:00+00"] {
            XCTAssertEqual(found(d, .date), [d], d)
        }
        XCTAssertEqual(found("1: 08/05/1930", .date), ["08/05/1930"])
    }
}
