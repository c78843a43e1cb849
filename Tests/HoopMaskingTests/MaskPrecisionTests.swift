import XCTest
@testable import HoopMasking

/// Values that are structurally something else than PHI come back as they are; the PHI
/// beside them, or under a key that names a person's date or an identifier, is still found.
final class MaskPrecisionTests: XCTestCase {
    /// 1804714115 (2027-03-09) passes the NPI's check, as one epoch second in ten does.
    let epoch = "1804714115"

    func testAnEpochUnderATimeKeyIsATime() {
        XCTAssertTrue(Checksum.npi(epoch.utf8.map { $0 - 0x30 }), "the draw passes the NPI check")
        for doc in ["{\"created_at\": \(epoch)}", "{\"expires_at\": \"\(epoch)\"}", "{\"CreationTime\": \(epoch)}",
                    "{\"LastModified\": \(epoch)000}", "{\"ttl\": \(epoch)}", "{\"iat\": \(epoch), \"exp\": 1804717715}",
                    "{\"updatedAt\": \(epoch)}", "created_at=\(epoch) level=info", "<CreationTime>x</CreationTime> ts: \(epoch)"] {
            XCTAssertFalse(standardMasker.maskText(doc).changed, "an epoch under a time key: \(doc.count) bytes")
        }
        // A text column whose name says time.
        XCTAssertFalse(try standardMasker.mask(epoch, column: "created_at", typeOID: 25).changed, "a created_at column")
        XCTAssertFalse(try standardMasker.mask(epoch, column: "LastModifiedTime", typeOID: 25).changed, "a camelCase column")
        // A DynamoDB attribute, read with its name before it.
        XCTAssertFalse(standardMasker.maskText(epoch, context: "\"expires_at\": \"").changed, "a DynamoDB TTL attribute")
    }

    func testASizeIsAQuantity() {
        for doc in ["{\"Size\": 8004714115}", "{\"bytes\": 2147483647}", "{\"ContentLength\": \(epoch)}", "{\"count\": \(epoch)}",
                    "{\"Sum\": 2147483647, \"SampleCount\": \(epoch), \"Maximum\": 8004714115}",
                    "{\"amount_cents\": 8004714115}", "crc32=2147483647", "elapsed_ms=\(epoch)"] {
            XCTAssertFalse(standardMasker.maskText(doc).changed, "a number under a quantity key: \(doc.count) bytes")
        }
    }

    /// An XML answer's element names the number it holds (S3's ListObjects `Size`).
    func testANumberInAnXMLElementThatNamesATimeOrASize() {
        let list = "<ListBucketResult><Contents><Key>a.csv</Key><Size>8004714115</Size></Contents>"
            + "<Contents><Key>b.csv</Key><Size>2147483647</Size></Contents><Expires ttl=\"\(epoch)\">x</Expires></ListBucketResult>"
        XCTAssertFalse(standardMasker.maskXML(list).changed, "sizes and a time in XML")
        XCTAssertTrue(standardMasker.maskXML("<r><npi>\(epoch)</npi></r>").changed, "an npi element")
        XCTAssertTrue(standardMasker.maskXML("<r><Phone>8004714115</Phone></r>").changed, "a phone element")
        XCTAssertTrue(standardMasker.maskXML("<r><Note>8004714115</Note></r>").changed, "an element that says nothing")
    }

    /// What is masked there today stays masked: a key that names a person's date or an
    /// identifier, a number not a time's, a number with separators.
    func testWhatTheKeyDoesNotExplainIsStillFound() {
        for doc in ["{\"npi\": \(epoch)}", "{\"dob_ts\": \(epoch)}", "{\"admitted_at\": \(epoch)}", "{\"id\": \(epoch)}",
                    "{\"member_id_created_at\": \(epoch)}", "{\"phone_count\": 8004714115}", "{\"created_at\": 8004714115}",
                    "{\"updated_at\": \"800-471-4115\"}", "{\"size\": \"+1 800 471 4115\"}"] {
            XCTAssertTrue(standardMasker.maskText(doc).changed, "still masked: \(doc.count) bytes")
        }
        // A person's label in free text is no program's key: its number is still read.
        for text in ["Best reached at: 2125550199", "Available: 2125550199", "Total: 2125550199 (cell)",
                     "Max Memory Used: 2125550199",
                     // Keys whose words say nothing of their number, and numbers written as strings (the review).
                     "{\"emergency_contact\":{\"reach_at\":\"3105550142\"}}", "{\"callbackOn\":2125550199}",
                     "{\"sms\":{\"sent_to\":\"4045550123\"}}", "{\"after_hours\":\"2145550100\"}", "sent_to=2125550199",
                     "{\"used_by\": \"6175550123\"}", "{\"size\": \"2125550199\"}"] {
            XCTAssertTrue(standardMasker.maskText(text).changed, "free text: \(text.count) bytes")
        }
        XCTAssertTrue(try standardMasker.mask(epoch, column: "provider_npi", typeOID: 25).changed, "an npi column")
        XCTAssertTrue(try standardMasker.mask(epoch, column: "note", typeOID: 25).changed, "a column that says nothing")
        XCTAssertTrue(try standardMasker.mask("call \(epoch)", column: "created_at", typeOID: 25).changed == standardMasker.maskText("call \(epoch)").changed,
                      "a column's name speaks for a bare value only")
        assertMasked("{\"dob\": \(epoch)}", epoch, nil, "a date of birth's epoch")
        assertMasked("{\"admitted_at\": \"2024-03-05T10:00:00Z\"}", "2024-03-05", .date, "an admission's timestamp")
    }

    func testAWordWithARandomHexSuffixIsAGeneratedName() {
        for v in ["Reportsdfab2670", "{\"ref\": \"Reportsdfab2670\"}", "Ordersbeef1234", "Backupcafe0917"] {
            XCTAssertFalse(standardMasker.maskText(v).changed, "a word and a hex run: \(v.count) bytes")
        }
        // Synthetic records' names with their digits are still names.
        for v in ["Staci563 Lanphear986", "{\"given\": \"Candace123\"}", "Seen by Maribel35 Abbott774 today", "Dr. Fadel4821"] {
            XCTAssertTrue(entities(v).contains(.personName), "a name with digits: \(v.count) bytes")
        }
    }

    func testASigIsNoAddressNorAName() {
        for v in ["Place Foley 16 Fr catheter", "Place Foley 16", "1 drop OS QHS 30", "insulin glargine 20 units SC QHS"] {
            XCTAssertFalse(standardMasker.maskText(v).changed, "clinical text: \(v.count) bytes")
        }
        // Streets of the same shapes.
        assertMasked("Place Vendome 12", "Place Vendome 12", .streetAddress, "a place's name")
        assertMasked("Avenue Louise 54", "Avenue Louise 54", .streetAddress, "an avenue")
        assertMasked("{\"address\": \"OS KOPERNIKA 30\"}", "OS KOPERNIKA 30", .streetAddress, "an estate in capitals")
        assertMasked("Address: OS KOPERNIKA 30, Warszawa", "KOPERNIKA 30", .streetAddress, "after an address's label")
        assertMasked("jan@example.org,OS KOPERNIKA 30,Warszawa", "KOPERNIKA 30", .streetAddress, "a CSV field in capitals")
        assertMasked("We have PRIVADA CHIAPAS 751 738 on file", "PRIVADA CHIAPAS 751 738", .streetAddress, "capitals in a sentence")
        assertMasked("Noted CALLE FLORIDA 12; nothing further", "CALLE FLORIDA 12", .streetAddress, "a state's name")
        assertMasked("Calle Florida 12", "Calle Florida 12", .streetAddress, "a type that is no English word")
        // A surname that is also a sig's abbreviation elsewhere stays a name (the review).
        XCTAssertFalse((standardMasker.maskText("Seen by Henry Po today").value ?? "").contains(" Po "), "a short surname")
    }

    func testTheLoopbackAndTheUnspecifiedAddressNameNoHost() {
        for v in ["listen 0.0.0.0:5432", "host=127.0.0.1 port=5432", "{\"client_addr\": \"127.0.0.1\"}", "::1", "bind ::1 port 80"] {
            XCTAssertFalse(entities(v).contains(.ipAddress), "no host: \(v.count) bytes")
        }
        for v in ["from 10.0.0.1", "client 192.168.10.200", "fe80::1ff:fe23:4567:890a", "0.0.0.1", "128.0.0.1", "2001:db8::1"] {
            XCTAssertTrue(entities(v).contains(.ipAddress), "a host: \(v.count) bytes")
        }
    }

    /// A query plan's node, an API member's name with an abbreviation for a hump.
    func testPlansAndAPIMembersAreNoNames() {
        for v in ["Seq Scan on encounters  (cost=0.00..1834.00 rows=100000 width=44)", "{\"PrivateIpAddress\": \"x\"}",
                  "{\"DbiResourceId\": \"x\", \"Iops\": 3000}", "RecoveryPointArn: x", "{\"Lsn\": \"x\"}", "{\"Datapoints\": []}",
                  "Amoxicillin 500 mg cap, Disp: 30 (thirty), Refills: 0"] {
            XCTAssertFalse(entities(v).contains(.personName), "no name: \(v.count) bytes")
        }
        for v in ["Seen by Dr. VanDyke today", "Rosa McDonald was seen", "{\"name\": \"LaToya\"}", "Arn Magnusson called"] {
            XCTAssertTrue(entities(v).contains(.personName), "a name: \(v.count) bytes")
        }
    }

    func testANDCAfterAQuantityIsNoPhone() {
        for v in ["qty 30 0002-1433", "NDC 0002-1433", "dispense 90 0093-7180 tabs"] {
            XCTAssertFalse(entities(v).contains(.phone), "an NDC: \(v.count) bytes")
        }
        for v in ["(11) 91234-5678", "65 8928-3838", "9876 5432", "Tel: 0002 1433", "03-1234-5678"] {
            XCTAssertTrue(entities(v).contains(.phone), "a phone: \(v.count) bytes")
        }
    }
}
