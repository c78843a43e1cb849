import Foundation
import XCTest
@testable import HoopMasking

/// Near misses and false positives of the last review, each family by one rule (every test
/// fails on the tree before it). Values are synthetic; messages carry labels, never values.
final class NearMissTests: XCTestCase {
    func masked(_ text: String, _ part: String, _ entity: Entity?, _ label: String, file: StaticString = #filePath, line: UInt = #line) {
        assertMasked(text, part, entity, label, file: file, line: line)
    }
    func clear(_ text: String, _ entity: Entity?, _ label: String, file: StaticString = #filePath, line: UInt = #line) {
        assertClear(text, entity, label, file: file, line: line)
    }
    /// A column's value comes back masked whole as a person's name.
    func column(_ column: String, _ value: String, masked expected: Bool, file: StaticString = #filePath, line: UInt = #line) throws {
        let r = try standardMasker.mask(value, table: "t", column: column, typeOID: 25)
        XCTAssertEqual(r.counts == ["PERSON_NAME": 1] && r.value != value, expected, "column \(column)", file: file, line: line)
    }

    // MARK: names

    static let arabic = "محمد بن عبد الله بن أحمد الهاشمي القرشي"

    func testLongLineageCommaAndBracketedNames() throws {
        for key in ["patientName", "name", "given_name"] {
            let text = #"{"\#(key)":"\#(Self.arabic)"}"#
            masked(text, Self.arabic, .personName, "a lineage's name under \(key)")
        }
        masked("Patient: \(Self.arabic)", Self.arabic, .personName, "a lineage's name after a context word")
        masked("Patient: Muhammad ibn Abdullah al-Hashimi", "Muhammad ibn Abdullah al-Hashimi", .personName, "in Latin letters")
        for v in [Self.arabic, "佐藤, 花子", "王，小明", "김민준(金敏俊)", "김민준（金敏俊）"] {
            try column("patient_name", v, masked: true)
            masked(#"{"patientName": "\#(v)"}"#, v, .personName, "under a name key")
        }
        // The particle alone is no name wherever else it stands.
        let other = standardMasker.maskText("Patient: \(Self.arabic) | بن").value ?? ""
        XCTAssertTrue(other.hasSuffix("بن"), "a particle repeated is not masked")
    }

    func testFHIRReferenceDisplayIsAPersonsName() {
        for (ref, name) in [("Patient/123", "Olive Orchard"), ("Practitioner/9", "Gray Marsh"), ("https://fhir.example.org/fhir/RelatedPerson/7", "佐藤 花子")] {
            let text = #"{"subject":{"reference":"\#(ref)","display":"\#(name)"}}"#
            masked(text, name, .personName, "display under \(ref)")
            let json = standardMasker.maskText(text).value ?? ""
            XCTAssertNotNil(try? JSONSerialization.jsonObject(with: Data(json.utf8)), "masked JSON stays well formed")
        }
        masked(#"{"actor":{"type":"Practitioner","display":"Olive Orchard"}}"#, "Olive Orchard", .personName, "a typed reference")
        masked(#"{\"reference\":\"Patient/1\",\"display\":\"Olive Orchard\"}"#, "Olive Orchard", .personName, "escaped JSON")
        masked(#"{"family":"Orchard","given":["Olive"]}"#, "Orchard", .personName, "HumanName's family")
        masked(#"{"family":"Orchard","given":["Olive"]}"#, "Olive", .personName, "HumanName's given")
        // A coding's display beside a patient's reference is a code's.
        clear(#"{"code":{"coding":[{"code":"38341003","display":"佐藤 花子"}]},"subject":{"reference":"Patient/1"}}"#,
              .personName, "a coding's display")
        clear(#"{"reference":"Organization/1","display":"佐藤 花子"}"#, .personName, "an organisation's display")
    }

    func testNameKeysThatNameAThing() throws {
        for key in ["drug_name", "facility_name", "file_name", "hospitalName", "department_name", "product_name", "test_name",
                    "medication_name", "procedure_name", "host_name", "tablename"] {
            clear(#"{"\#(key)":"阿司匹林"}"#, .personName, "under \(key)")
            clear("\(key)=北京协和医院", .personName, "after \(key)=")
            try column(key, "阿司匹林", masked: false)
        }
        for key in ["patient_name", "first_name", "emergency_contact_name", "mother_name", "guardian_name", "provider_name",
                    "nurse_name", "user_name", "maiden_name", "next_of_kin_name",
                    // A part that says whose beside one that says what (review, s45).
                    "care_team_member_name", "insurance_subscriber_name", "pharmacy_contact_name", "order_provider_name",
                    "app_user_name", "patient_drug_name"] {
            masked(#"{"\#(key)":"佐藤 花子"}"#, "佐藤 花子", .personName, "under \(key)")
            try column(key, "佐藤 花子", masked: true)
        }
    }

    // MARK: URLs and e-mail

    func testURLsScemeRelativeWithAQueryOrAFragment() {
        for u in ["//host.example.org/patient/123", "portal.example.org:8443?mrn=123", "portal.example.org#/p/1",
                  "portal.example.org?mrn=123"] {
            masked(u, u, .url, "alone")
            masked("see \(u) for the chart", u, .url, "in a note")
        }
        // A capitalised word before the dot is a name's site, not shorthand (review, s45).
        for u in ["Doe.ME/CV", "Lee.TV/VLOG"] { masked("my page: \(u)", u, .url, "a surname's site") }
        for s in ["Dx: HTN.DM/CKD stable", "Pt.ID/MRN on file", "a//b.example.org/x", "Is it example.org? Yes."] {
            clear(s, .url, "shorthand, a path or a question")
        }
    }

    func testEmailsWithOtherAtSignsAndDots() {
        for a in ["jane＠example.com", "jane@example．com", "jane﹫example.com", "jane@example。com", "ｊａｎｅ＠ｅｘａｍｐｌｅ．ｃｏｍ",
                  // A page's source (review, s45).
                  "jane&#64;example.com", "jane&#x40;example.com", "jane&commat;example.com"] {
            masked(a, a, .email, "alone")
            masked("Contact: \(a) today", a, .email, "in a note")
        }
        for s in ["write to jane at example.com please", "mail jdoe84 at clinic.example.org", "j.doe at mail.example.de"] {
            XCTAssertEqual(standardMasker.detect(s).filter { $0.entity == .email }.count, 1, "an address with its at written out")
        }
        for s in ["Available at example.com today", "we met at clinic.org", "He is at home.It is late", "请发邮件。谢谢",
                  "Tom &amp; Jerry.example", "R&#64D plan"] {
            clear(s, .email, "prose")
        }
    }

    // MARK: dates

    func testDateFamilies() {
        let forms = ["1984. 03. 09.", "1984. 3. 9", "9. 3. 1984", "1984-W10-5", "1984W105", "19840309T1011", "19840309T101112Z",
                     "3月9日", "3월 9일", "1984年3月", "1984년 3월"]
        for (k, f) in forms.enumerated() {
            masked(f, f, .date, "form \(k) alone")
            masked(#"{"dob": "\#(f)"}"#, f, .date, "form \(k) in JSON")
            masked("Patient was seen on \(f) for a rash follow-up.", f, .date, "form \(k) in a note")
        }
        masked("生日3月9日", "3月9日", .date, "glued to its label")
        masked("患者于3月9日入院", "3月9日", .date, "in a sentence")
        for (s, d) in [("DOB 9.3.84", "9.3.84"), (#"{"birthDate": "09.03.84"}"#, "09.03.84"), ("dob 9-3-84", "9-3-84"),
                       ("born 1984-03-09T10:11:12+0200", "1984-03-09T10:11:12+0200"),
                       ("Fri 9 Mar 1984", "9 Mar 1984"), ("Friday, March 9, 1984", "March 9, 1984")] {
            masked(s, d, .date, "after a label or a weekday")
        }
        for v in ["1.2.3", "9.3.84", "20.12.65", "v1.2.3.4", "11.30.56", "Q3 2024-W10 sprint", "1984W105X"] {
            clear(v, .date, "a version or a code")
        }
    }

    func testPhonesFromOtherLocales() {
        for p in ["(+358) 40 123 4567", "(+30) 2877 893287", "8 (912) 345-67-89"] {
            masked(p, p, .phone, "alone")
            masked("Contact: \(p) today", p, .phone, "in a note")
        }
    }

    // MARK: the near misses left open (spelled dates, spaced at signs, labelled local
    // phones) and what other locales' generators made that passed (street types, national ids)

    func testEmailWithSpacesAroundItsAtSign() {
        for s in ["jane @ example.com", "j.doe@ mail.example.de", "jdoe88 @clinic.org"] {
            masked(s, s, .email, "spaced at sign alone")
            masked("Contact: \(s) after 5pm", s, .email, "spaced at sign in a note")
        }
        for s in ["meet @ example.com's office", "prices @ shop.example.com", "Tickets @ 5.00 each", "see you @ noon.com"] {
            clear(s, .email, "a word of the sentence before a spaced at")
        }
    }

    func testDatesWithOrdinalDaysAndNamedMonths() {
        for (text, part) in [("the fourteenth of March 1961", "fourteenth of March 1961"),
                             ("Patient born on March the 14th, 1961 in Leeds", "March the 14th, 1961"),
                             ("born March fourteenth, 1961", "March fourteenth, 1961"),
                             ("on the twenty-first of June 1958 she moved", "twenty-first of June 1958"),
                             ("DOB: the thirty first of May 1958", "thirty first of May 1958"),
                             ("seen on the fourteenth of March at 10:30", "fourteenth of March"),
                             ("on 14 March 1961", "14 March 1961"), ("der 14. März 1961", "14. März 1961"),
                             ("né le 14 mars 1961", "14 mars 1961"), ("el 14 de marzo de 1961", "14 de marzo de 1961"),
                             ("Leeds, 14th March '61", "14th March '61")] {
            masked(text, part, .date, "a spelled date")
        }
        for s in ["the fourth of us came", "May the fourth be with you", "March the band played twice", "the first of many",
                  "He was the fourteenth to arrive", "a second of silence", "Patient had a second March visit 2024 scheduled"] {
            clear(s, .date, "an ordinal word that is no day")
        }
    }

    func testLocalPhonesAfterAPhoneLabel() {
        for (text, part) in [("tel 5551234", "5551234"), ("Phone: 555 12 34", "555 12 34"), ("Tel: 030 901820", "030 901820"),
                             ("Tel (home): 555 12 34", "555 12 34"), ("phone no. 90 18 20", "90 18 20"), ("65 8928-3838", "65 8928-3838"),
                             ("(11) 91234-5678", "(11) 91234-5678"), ("Telefon: 0170 123456", "0170 123456"), ("Telefon: 275 7584", "275 7584")] {
            masked(text, part, .phone, "a labelled local number")
        }
        for s in ["cell count 1234567", "order number 5551234", "contact case 555 12 34", "Phone 2 of 3: 4412345 items"] {
            clear(s, .phone, "a number after no phone's label")
        }
    }

    func testStreetsWithOtherLanguagesTypes() {
        for (text, part) in [("Drubstraße 4-1, 94032 Scheinfeld", "Drubstraße 4-1"), ("Lucysingel 83, 7832 PY, Dreischor", "Lucysingel 83"),
                             ("Ilse-Ditschlerin-Gasse 7, 28378 Wiedenbrück", "Ilse-Ditschlerin-Gasse 7"), ("Hauptstr. 5a", "Hauptstr. 5a"),
                             ("ulica Majowa 283, 58-522 Inowrocław", "ulica Majowa 283"), ("76, avenue De Oliveira, 27100 Allain", "76, avenue De Oliveira"),
                             ("12 rue de la Paix, 75002 Paris", "12 rue de la Paix"), ("Viale Nedda, 92, 19018, Vernazza (SP)", "Viale Nedda, 92"),
                             ("Rua das Flores, 123", "Rua das Flores, 123"), ("al. Cmentarna 630, 35-886 Luboń", "al. Cmentarna 630"),
                             ("Hornigring 21-26, 41490 Stendal", "Hornigring 21-26, 41490 Stendal"), ("Amberhof 67, 7053WV Wervershoof", "Amberhof 67, 7053WV Wervershoof"),
                             ("Heino-Margraf-Ring 9", "Heino-Margraf-Ring 9"), ("rue Carlier, 77757 Roussel-sur-Dupont", "rue Carlier, 77757 Roussel-sur-Dupont"),
                             ("pl. Wyzwolenia 93, 93-195 Słupsk", "pl. Wyzwolenia 93, 93-195 Słupsk"), ("Hveensstræde 71", "Hveensstræde 71")] {
            masked(text, part, .streetAddress, "a street in another language")
            masked("Patient lives in \(text) with her son.", part, .streetAddress, "in a note")
            masked(text.uppercased(), part.uppercased(), .streetAddress, "in capitals")
        }
        for s in ["sent via Fax 2 times", "Brigade 2 arrived", "Place 3 tablets under the tongue", "String 3 was cut",
                  "route IV 2 doses", "Weg 5", "Boring 3 holes", "Offering 2 slots", "Keypad 3"] {
            clear(s, .streetAddress, "no street")
        }
    }

    func testNationalIdentifiersOfOtherCountries() {
        // Synthetic, each passing its issuer's check.
        for v in ["090001-2384112", "11010519491231002X", "12345678Z", "X1234567L", "145092A00412838", "KUXQ151103GV5"] {
            masked(v, v, .ssn, "a national id alone")
            masked("Patient id \(v) on file", v, .ssn, "a national id in a note")
        }
        masked("PESEL: 44051401359", "44051401359", .ssn, "PESEL after its name")
        for s in ["11010519491231002Y", "12345678A", "X1234567A", "PESEL: 44051401358", "ABCD991399XYZ"] {
            clear(s, .ssn, "a failed check")
        }
    }

    func testThingsNamedAreNoPersonAndPeopleNamedAre() throws {
        for key in ["drug_name", "facility_name", "device_name", "file_name"] { try column(key, "佐藤 花子", masked: false) }
        for key in ["nok_name", "guarantor_name", "referrer_name"] { try column(key, "佐藤 花子", masked: true) }
    }
}
