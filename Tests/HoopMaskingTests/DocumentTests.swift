import XCTest
@testable import HoopMasking

/// API answers keep their structure when masked: values are read, names never.
final class DocumentTests: XCTestCase {
    let m = Masker(policy: MaskPolicy())
    let ssn = "123-45-6789"
    let email = "pat.doe@example.org"

    func testJSONValuesAreMaskedKeysAreNot() throws {
        let body = #"{"Item":{"ssn":{"S":"\#(ssn)"},"email":{"S":"\#(email)"},"n":{"N":"3"}}}"#
        let r = m.maskDocument(body, contentType: "application/x-amz-json-1.0")
        let out = try XCTUnwrap(r.value)
        XCTAssertFalse(out.contains(ssn) || out.contains(email), out)
        XCTAssertTrue(out.contains(#""ssn":{"S":"#) && out.contains(#""N":"3""#), out)
        XCTAssertNotNil(try? JSONSerialization.jsonObject(with: Data(out.utf8)))
    }

    func testXMLTextCommentsCDATAAndAttributesAreMaskedNamesAndNamespacesAreNot() throws {
        let body = """
        <?xml version="1.0"?><ListResult xmlns="https://s3.amazonaws.com/doc/2006-03-01/"><Key owner="\(email)">notes/\(ssn).txt</Key>\
        <!-- copied from \(email) --><Note><![CDATA[SSN \(ssn)]]></Note></ListResult>
        """
        let out = try XCTUnwrap(m.maskDocument(body, contentType: "application/xml").value)
        XCTAssertFalse(out.contains(ssn) || out.contains(email), out)
        XCTAssertTrue(out.contains(#"<ListResult xmlns="https://s3.amazonaws.com/doc/2006-03-01/">"#), out)
        XCTAssertTrue(out.contains("<Key owner=\"") && out.contains("</Key>") && out.contains("<!--") && out.contains("<![CDATA["), out)
    }

    func testAnythingElseIsMaskedAsText() throws {
        let out = try XCTUnwrap(m.maskDocument("mrn,ssn\n1,\(ssn)\n", contentType: "text/csv").value)
        XCTAssertFalse(out.contains(ssn))
        // A body that says JSON but is not: masked whole as text, never passed.
        let broken = try XCTUnwrap(m.maskDocument("{\"ssn\": \"\(ssn)\"", contentType: "application/json").value)
        XCTAssertFalse(broken.contains(ssn))
    }
}

extension DocumentTests {
    /// Text that only looks like markup is not markup: a body that does not read as XML
    /// is masked whole.
    func testTextThatLooksLikeTagsIsNotCopiedAsMarkup() throws {
        for body in ["<note>HbA1c <7%, SSN \(ssn)</note>", "<patient \(ssn)>", "<a>unclosed \(ssn)", "<?xml version=\"1.0\"?><a x=\(ssn)/>"] {
            let out = try XCTUnwrap(m.maskDocument(body, contentType: "text/xml").value)
            XCTAssertFalse(out.contains(ssn), out)
        }
    }
}

extension DocumentTests {
    /// A streamed text's pieces are read with the end of the piece before: the label stays.
    func testAPieceIsReadWithTheEndOfThePieceBefore() throws {
        let alone = m.maskText("123456789 was given\n")
        let withLabel = m.maskText("123456789 was given\n", context: "patient record 7\nSSN:\n")
        XCTAssertFalse(try XCTUnwrap(withLabel.value).contains("123456789"), withLabel.value ?? "")
        XCTAssertTrue(try XCTUnwrap(withLabel.value).hasSuffix(" was given\n"))
        _ = alone
        // Nothing of the context comes back.
        XCTAssertFalse(try XCTUnwrap(m.maskText("plain words\n", context: "\(ssn)\n").value).contains(ssn))
    }
}
