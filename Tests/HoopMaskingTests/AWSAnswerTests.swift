import Foundation
import XCTest
import HoopJSON
@testable import HoopMasking

/// AWS answers masked by the call they answer: field rules of the resources the policy
/// names, content detection on the rest, and what a call names read once (ResourceSelector).
final class AWSAnswerTests: XCTestCase {
    let ssn = "123-45-6789"
    let email = "pat.doe@example.org"

    func policy(_ selector: ResourceSelector, _ fields: [(String, MaskStrategy, Entity?)]) throws -> Masker {
        var p = MaskPolicy()
        p.resourceRules = [ResourceRule(selector: selector, fields: try fields.map { try FieldRule(field: $0.0, strategy: $0.1, entity: $0.2) })]
        return Masker(policy: p)
    }

    func call(_ service: String, _ action: String, _ resources: String) -> AWSCallContext {
        AWSCallContext(service: service, action: action, resources: try! JSON.parse(resources))
    }

    func parsed(_ r: MaskResult) throws -> JSON { try JSON.parse(XCTUnwrap(r.value)) }

    // MARK: JSON members and paths

    func testMemberNamesMatchAtAnyDepthAndEscapedSpellingsAreTheSameName() throws {
        let m = try policy(ResourceSelector(function: "patient-*"), [("ssn", .redact, .ssn), ("dob", .redact, .date)])
        let body = #"{"patient":{"s\u0073n":987654321,"dob":"1950-01-02","notes":["call \#(email)"]},"count":3}"#
        let r = try m.maskAWSAnswer(body, contentType: "application/json", call: call("lambda", "Invoke", #"{"FunctionName":"patient-lookup"}"#))
        let out = try parsed(r)
        XCTAssertEqual(out["patient"]?["ssn"], .string("[REDACTED]"), "a number that is PHI is masked by its rule")
        XCTAssertEqual(out["patient"]?["dob"], .string("[REDACTED]"))
        XCTAssertFalse(try XCTUnwrap(r.value).contains(email))
        XCTAssertEqual(out["count"], .int(3))
        XCTAssertEqual(r.counts["SSN"], 1)
        XCTAssertEqual(r.counts["DATE"], 1)
        XCTAssertEqual(r.counts["EMAIL"], 1)
    }

    func testJSONPathsMatchOnlyWhereTheyPoint() throws {
        let m = try policy(ResourceSelector(bucket: "b"), [("$.items[*].name", .hash(key: HashKey("k")), .personName), ("$.meta.*", .redact, nil)])
        let body = #"{"items":[{"name":"Alma Stone"},{"name":"Ben Ray"}],"name":"catalogue","meta":{"a":"x","b":"y"}}"#
        let r = try m.maskAWSAnswer(body, contentType: "application/json", call: call("s3", "GetObject", #"{"Bucket":"b","Key":"k.json"}"#))
        let out = try parsed(r)
        XCTAssertTrue(out["items"]?.array?.allSatisfy { $0["name"]?.string?.hasPrefix("tok_") == true } ?? false)
        XCTAssertEqual(out["name"], .string("catalogue"), "a path does not match elsewhere")
        XCTAssertEqual(out["meta"]?["a"], .string("[REDACTED]"))
        XCTAssertEqual(r.counts["PERSON_NAME"], 2)
        XCTAssertEqual(r.counts["FIELD"], 2)
    }

    func testRulesOfAnotherResourceDoNotApply() throws {
        let m = try policy(ResourceSelector(bucket: "phi-*"), [("ssn", .redact, .ssn)])
        let body = #"{"ssn":"not a number"}"#
        let r = try m.maskAWSAnswer(body, contentType: "application/json", call: call("s3", "GetObject", #"{"Bucket":"public","Key":"a.json"}"#))
        XCTAssertEqual(r.value, body)
        XCTAssertTrue(r.counts.isEmpty)
    }

    func testAnswerThatSaysJSONButIsNotIsRefusedWhenRulesApply() throws {
        let m = try policy(ResourceSelector(bucket: "b"), [("ssn", .redact, .ssn)])
        XCTAssertThrowsError(try m.maskAWSAnswer(#"{"ssn": "1", "ssn": "2"}"#, contentType: "application/json",
                                                 call: call("s3", "GetObject", #"{"Bucket":"b","Key":"x"}"#)))
    }

    func testXMLThisReaderCannotReadIsRefusedWhenRulesApply() throws {
        // A processing instruction (every C-CDA document has a stylesheet one): the element
        // names could not be told apart, and content detection alone would read it.
        let m = try policy(ResourceSelector(bucket: "b"), [("mrn", .redact, .mrn)])
        let cda = #"<?xml version="1.0"?><?xml-stylesheet type="text/xsl" href="cda.xsl"?><doc><mrn>A0700000</mrn></doc>"#
        XCTAssertThrowsError(try m.maskAWSAnswer(cda, contentType: "application/xml", call: call("s3", "GetObject", #"{"Bucket":"b","Key":"x.xml"}"#)))
        // Without rules it is text, masked by content detection.
        XCTAssertNoThrow(try Masker(policy: MaskPolicy()).maskAWSAnswer(cda, contentType: "application/xml",
                                                                        call: call("s3", "GetObject", #"{"Bucket":"b","Key":"x.xml"}"#)))
    }

    func testRuledNamesInFreeTextMaskTheirValues() throws {
        let m = try policy(ResourceSelector(logGroup: "/clinic/*"), [("mrn", .redact, .mrn), ("zip*", .redact, .zipCode)])
        let c = call("logs", "FilterLogEvents", #"{"logGroupName":"/clinic/notes"}"#)
        let events = #"{"events": [{"message": "2026-12-04T10:00:00Z\tabc\tINFO\tpatient mrn=A0700000 zip_code: '67271' seen"}]}"#
        let out = try XCTUnwrap(m.maskAWSAnswer(events, contentType: "application/x-amz-json-1.1", call: c).value)
        XCTAssertFalse(out.contains("A0700000") || out.contains("67271"), out)
        XCTAssertTrue(out.contains("seen") && out.contains("INFO"), out)
        // A name no detector knows as a label: only the rule finds its value.
        let yaml = "patient:\n  room: 7B12\n  visits: 3\n"
        let other = try policy(ResourceSelector(logGroup: "/clinic/*"), [("room", .redact, nil)])
        let s3 = call("s3", "GetObject", #"{"Bucket":"b","Key":"p.yaml"}"#)
        XCTAssertEqual(try other.maskAWSAnswer(yaml, contentType: "text/yaml", call: s3).value, yaml, "rules of another resource do not apply")
        let own = try XCTUnwrap(policy(ResourceSelector(bucket: "b"), [("room", .redact, nil)]).maskAWSAnswer(yaml, contentType: "text/yaml", call: s3).value)
        XCTAssertFalse(own.contains("7B12"), own)
        XCTAssertTrue(own.contains("visits: 3"), own)
    }

    func testATableDelimitedOtherwiseIsRefusedWhereRulesApply() throws {
        let m = try policy(ResourceSelector(bucket: "b"), [("mrn", .redact, .mrn)])
        let c = call("s3", "GetObject", #"{"Bucket":"b","Key":"x.tsv"}"#)
        XCTAssertThrowsError(try m.maskAWSAnswer("name\tmrn\nPat\tA0700000\nLee\tA0700001\n", contentType: "text/tab-separated-values", call: c))
        XCTAssertThrowsError(try m.maskAWSAnswer("name;mrn\nPat;A0700000\nLee;A0700001\n", contentType: "text/plain", call: c))
        // Prose with a semicolon now and then is text.
        XCTAssertNoThrow(try m.maskAWSAnswer("Seen today; well.\nNo change, fine.\n", contentType: "text/plain", call: c))
    }

    func testXMLIsReadAsTheClientReadsIt() throws {
        let m = try policy(ResourceSelector(bucket: "b"), [("mrn", .redact, .mrn)])
        let c = call("s3", "GetObject", #"{"Bucket":"b","Key":"x.xml"}"#)
        let referenced = try XCTUnwrap(m.maskAWSAnswer("<doc><note>SSN 385&#45;89&#45;7453</note></doc>", contentType: "application/xml", call: c).value)
        XCTAssertFalse(referenced.contains("7453"), referenced)
        let prefixed = try XCTUnwrap(m.maskAWSAnswer(#"<p:doc xmlns:p="urn:x"><p:mrn>A0700000</p:mrn></p:doc>"#, contentType: "application/xml", call: c).value)
        XCTAssertFalse(prefixed.contains("A0700000"), prefixed)
        XCTAssertEqual(try m.maskAWSAnswer("<doc>a &amp; b</doc>", contentType: "application/xml", call: c).value, "<doc>a &amp; b</doc>")
    }

    /// The service's own members keep their names ("FunctionArn", "QueueUrls" read as
    /// names renamed them, and an SDK found no such member); a key someone wrote with a
    /// space, and any key of a document someone wrote or of a DynamoDB item, is read.
    func testTheServicesMemberNamesStayAndKeysSomeoneWroteAreRead() throws {
        let m = Masker(policy: MaskPolicy())
        let function = #"{"Configuration": {"FunctionName": "intake", "FunctionArn": "arn:aws:lambda:us-east-1:123456789012:function:intake", "KeyMetadata": {"Arn": "x"}}, "QueueUrls": []}"#
        XCTAssertEqual(try m.maskAWSAnswer(function, contentType: "application/json",
                                           call: call("lambda", "GetFunction", #"{"FunctionName":"intake"}"#)).value, function)
        let tags = try parsed(m.maskAWSAnswer(#"{"Tags": {"Grace Hill": "owner"}}"#, contentType: "application/json",
                                              call: call("lambda", "ListTags", #"{"Resource":"r"}"#)))
        XCTAssertNil(tags["Tags"]?["Grace Hill"], "a key with a name in it, in the service's structure")
        let object = try parsed(m.maskAWSAnswer(#"{"Lanphear986": {"visits": 3}}"#, contentType: "application/json",
                                                call: call("s3", "GetObject", #"{"Bucket":"b","Key":"x.json"}"#)))
        XCTAssertNil(object["Lanphear986"], "a document someone wrote: every key is read")
        // A map of the model (its keys someone's text): a tag key of letters only is read too.
        var tagged = call("sqs", "ListQueueTags", "{}")
        tagged.maps = ["Tags"]
        let queueTags = try parsed(m.maskAWSAnswer(#"{"Tags": {"Lanphear986": "owner", "team": "x"}}"#, contentType: "application/x-amz-json-1.0",
                                                   call: tagged))
        XCTAssertNil(queueTags["Tags"]?["Lanphear986"])
        XCTAssertEqual(queueTags["Tags"]?["team"], .string("x"))
    }

    /// In a document someone wrote and in a DynamoDB item, a value is read after its
    /// member's name, as the document's text has it: a ZIP code, a unit, a surname that is
    /// an English word are PHI by their label.
    func testAValueSomeoneWroteIsReadAfterItsMembersName() throws {
        let m = Masker(policy: MaskPolicy())
        let doc = #"{"postalCode": "62704", "line2": "Apt 4B", "family": "Hill"}"#
        let object = try parsed(m.maskAWSAnswer(doc, contentType: "application/json",
                                                call: call("s3", "GetObject", #"{"Bucket":"b","Key":"x.json"}"#)))
        XCTAssertNotEqual(object["postalCode"], .string("62704"))
        XCTAssertNotEqual(object["family"], .string("Hill"))
        let item = #"{"Item": {"zip": {"S": "62704-1234"}, "surname": {"S": "Hill"}, "visits": {"N": "3"}}}"#
        let got = try parsed(m.maskAWSAnswer(item, contentType: "application/x-amz-json-1.0",
                                             call: call("dynamodb", "GetItem", #"{"TableName":"Patients"}"#)))
        XCTAssertNotEqual(got["Item"]?["zip"]?["S"], .string("62704-1234"))
        XCTAssertNotEqual(got["Item"]?["surname"]?["S"], .string("Hill"))
        XCTAssertEqual(got["Item"]?["visits"], .object(["N": .string("3")]))
        // The service's own members name nothing: a function called like a word stays.
        let conf = #"{"FunctionName": "Hill", "PostalCode": "62704"}"#
        XCTAssertEqual(try m.maskAWSAnswer(conf, contentType: "application/json",
                                           call: call("lambda", "GetFunctionConfiguration", #"{"FunctionName":"Hill"}"#)).value, conf)
    }

    /// Where the operation's model says its answer holds environment variables, every
    /// value under them is redacted, their names kept, wherever the member stands.
    func testEnvironmentVariablesKeepTheirNamesNotTheirValues() throws {
        let m = Masker(policy: MaskPolicy())
        var context = call("lambda", "ListFunctions", "{}")
        context.environment = ["Environment"]
        let answer = #"{"Functions": [{"FunctionName": "f", "Environment": {"Variables": {"DB_PASSWORD": "planted-1", "PORT": 8080}}}]}"#
        let got = try parsed(m.maskAWSAnswer(answer, contentType: "application/json", call: context))
        XCTAssertEqual(got["Functions"]?.array?.first?["Environment"], .object(["Variables": .object(["DB_PASSWORD": .string("[REDACTED]"), "PORT": .string("[REDACTED]")])]))
        XCTAssertEqual(got["Functions"]?.array?.first?["FunctionName"], .string("f"))
        // A variable's name is someone's text: read as a value is.
        let named = try parsed(m.maskAWSAnswer(#"{"Environment": {"Variables": {"Lanphear986": "x"}}}"#, contentType: "application/json",
                                               call: context))
        XCTAssertNil(named["Environment"]?["Variables"]?["Lanphear986"])
        var ecs = call("ecs", "DescribeTaskDefinition", "{}")
        ecs.environment = ["environment"]
        let task = #"{"taskDefinition": {"containerDefinitions": [{"name": "app", "environment": [{"name": "TOKEN", "value": "planted-2"}]}]}}"#
        let t = try parsed(m.maskAWSAnswer(task, contentType: "application/x-amz-json-1.1", call: ecs))
        XCTAssertEqual(t["taskDefinition"]?["containerDefinitions"]?.array?.first?["environment"],
                       .array([.object(["name": .string("TOKEN"), "value": .string("[REDACTED]")])]))
        XCTAssertEqual(t["taskDefinition"]?["containerDefinitions"]?.array?.first?["name"], .string("app"))
    }

    /// A command line's argument after a flag that names a credential, and the value of a
    /// map key that names one, are redacted in any JSON answer; the flags and keys stay
    /// (hunt s43: EMR steps' `--db-password VALUE`, configurations' `Properties`).
    func testCredentialArgumentsAndPropertiesAreRedacted() throws {
        let m = Masker(policy: MaskPolicy())
        var emr = call("elasticmapreduce", "ListSteps", "{}")
        emr.maps = ["Properties"]
        let answer = #"""
        {"Steps": [{"Id": "s-1", "Name": "load", "Config": {"Jar": "command-runner.jar",
          "Args": ["spark-submit", "load.py", "--db-password", "planted-1", "--api-key=planted-2", "-p", "planted-3",
                   "--conf", "spark.hadoop.fs.s3a.secret.key=planted-4", "-Djavax.jdo.option.ConnectionPassword=planted-5",
                   "--token", "--verbose", "--password-file", "/etc/pw", "--secret-arn", "arn:x", "--rows", "10"],
          "Properties": {"javax.jdo.option.ConnectionPassword": "planted-6", "ConnectionUserName": "hive",
                         "fs.s3a.access.key": "planted-7", "hive.metastore.token.lifetime": "3600"}}}]}
        """#
        let r = try m.maskAWSAnswer(answer, contentType: "application/x-amz-json-1.1", call: emr)
        let text = try XCTUnwrap(r.value)
        for n in 1...7 { XCTAssertFalse(text.contains("planted-\(n)"), "planted-\(n) passed") }
        let config = try parsed(r)["Steps"]?.array?.first?["Config"]
        XCTAssertEqual(config?["Args"], .array(["spark-submit", "load.py", "--db-password", "[REDACTED]", "--api-key=[REDACTED]", "-p",
                                                "[REDACTED]", "--conf", "spark.hadoop.fs.s3a.secret.key=[REDACTED]",
                                                "-Djavax.jdo.option.ConnectionPassword=[REDACTED]", "--token", "--verbose",
                                                "--password-file", "/etc/pw", "--secret-arn", "arn:x", "--rows", "10"].map(JSON.string)))
        XCTAssertEqual(config?["Properties"]?["ConnectionUserName"], .string("hive"))
        XCTAssertEqual(config?["Properties"]?["hive.metastore.token.lifetime"], .string("3600"))
        XCTAssertEqual(config?["Properties"]?["javax.jdo.option.ConnectionPassword"], .string("[REDACTED]"))
        XCTAssertEqual(r.counts["SECRET"], 7)
        // Glue's DefaultArguments: a map keyed by flags.
        var glue = call("glue", "GetJob", "{}")
        glue.maps = ["DefaultArguments"]
        let job = try parsed(m.maskAWSAnswer(#"{"Job": {"Name": "j", "DefaultArguments": {"--db-password": "planted-8", "--job-language": "python"}}}"#,
                                             contentType: "application/x-amz-json-1.1", call: glue))
        XCTAssertEqual(job["Job"]?["DefaultArguments"], .object(["--db-password": .string("[REDACTED]"), "--job-language": .string("python")]))
        // The service's own members are not a map someone wrote: they stay as they are.
        let own = #"{"PasswordLastUsed": "x", "Steps": ["a", "b"]}"#
        XCTAssertEqual(try m.maskAWSAnswer(own, contentType: "application/json", call: call("iam", "GetUser", "{}")).value, own)
    }

    /// A name/value pair whose name says credential, in XML answers as in JSON ones (hunt
    /// aws4): CloudFormation's Parameters and Outputs, RDS's parameters, an XML map's entry,
    /// tags; and the model's pairs (`pairs`: ParameterKey/DefaultValue), the value before its name.
    func testCredentialPairsAreRedactedInXMLAndByTheModelsPairs() throws {
        let m = Masker(policy: MaskPolicy())
        let stacks = """
        <DescribeStacksResponse xmlns="http://cloudformation.amazonaws.com/doc/2010-05-15/"><DescribeStacksResult><Stacks><member>
          <Parameters><member><ParameterKey>DBPassword</ParameterKey><ParameterValue>planted-1</ParameterValue></member>
            <member><ParameterValue>plain-1</ParameterValue><ParameterKey>Tier</ParameterKey></member></Parameters>
          <Outputs><member><OutputValue><![CDATA[planted-2]]></OutputValue><OutputKey>DbPass&#119;ordOut</OutputKey></member>
            <member><OutputKey>DBPasswordOut</OutputKey><OutputValue>planted-9</OutputValue></member></Outputs>
          <Tags><member><Key>api_key</Key><Value>planted-3</Value></member><member><Key>team</Key><Value>plain-2</Value></member></Tags>
          <StackName>s</StackName></member></Stacks></DescribeStacksResult></DescribeStacksResponse>
        """
        let r = try m.maskAWSAnswer(stacks, contentType: "text/xml", call: call("cloudformation", "DescribeStacks", "{}"))
        var text = try XCTUnwrap(r.value)
        for n in [1, 2, 3, 9] { XCTAssertFalse(text.contains("planted-\(n)"), "planted-\(n) passed") }
        for n in 1...2 { XCTAssertTrue(text.contains("plain-\(n)"), "plain-\(n) is no credential") }
        XCTAssertTrue(text.contains("<ParameterKey>DBPassword</ParameterKey><ParameterValue>[REDACTED]</ParameterValue>"), "names stay")
        XCTAssertEqual(r.counts["SECRET"], 4)
        // A name's words: an acronym before a word is one (DBPassword), a plural one is not split.
        XCTAssertEqual(CredentialValues.words("DBPasswordOut"), ["db", "password", "out"])
        XCTAssertEqual(CredentialValues.words("SecretARNs"), ["secret", "arns"])
        XCTAssertTrue(CredentialValues.isCredentialName("APIKey"))
        // An XML map (SNS's attributes) and the model's pair (no stem in common).
        let sns = "<R><Attributes><entry><key>PlatformCredential</key><value>planted-4</value></entry>"
            + "<entry><key>PlatformPrincipal</key><value>plain-3</value></entry></Attributes></R>"
        text = try XCTUnwrap(m.maskAWSAnswer(sns, contentType: "text/xml", call: call("sns", "GetPlatformApplicationAttributes", "{}")).value)
        XCTAssertFalse(text.contains("planted-4"))
        XCTAssertTrue(text.contains("plain-3"))
        let summary = "<R><ParameterDeclarations><member><DefaultValue>planted-5</DefaultValue><ParameterKey>DBPassword</ParameterKey>"
            + "</member></ParameterDeclarations></R>"
        var modeled = call("cloudformation", "GetTemplateSummary", "{}")
        XCTAssertEqual(try m.maskAWSAnswer(summary, contentType: "text/xml", call: modeled).value, summary, "no pair without the model's")
        modeled = AWSCallContext(service: "cloudformation", action: "GetTemplateSummary", resources: nil, pairs: [["ParameterKey", "DefaultValue"]])
        XCTAssertFalse(try XCTUnwrap(m.maskAWSAnswer(summary, contentType: "text/xml", call: modeled).value).contains("planted-5"))
        let json = #"{"ParameterDeclarations": [{"ParameterKey": "DBPassword", "DefaultValue": "planted-6"}, {"ParameterKey": "Tier", "DefaultValue": "plain-4"}]}"#
        text = try XCTUnwrap(m.maskAWSAnswer(json, contentType: "application/json", call: modeled).value)
        XCTAssertFalse(text.contains("planted-6"))
        XCTAssertTrue(text.contains("plain-4"))
        // A value of several elements, or nested ones: all its text; a pair nested in a name is no name.
        let nested = "<R><member><Name>db_password</Name><Values><member>planted-7</member><member>planted-8</member></Values></member>"
            + "<member><Name><x>password</x></Name><Value>plain-5</Value></member></R>"
        text = try XCTUnwrap(m.maskAWSAnswer(nested, contentType: "text/xml", call: nil).value)
        XCTAssertFalse(text.contains("planted-7") || text.contains("planted-8"))
        XCTAssertTrue(text.contains("plain-5"))
        // Unchanged XML is passed as it came.
        let plain = "<R><member><Name>tier</Name><Value>gold</Value></member></R>"
        XCTAssertEqual(try m.maskAWSAnswer(plain, contentType: "text/xml", call: nil).value, plain)
    }

    func testNumbersInADocumentSomeoneWroteAreReadButNotTheServicesOwn() throws {
        let m = Masker(policy: MaskPolicy())
        let object = try parsed(m.maskAWSAnswer(#"{"contact": 2175550134, "visits": 3}"#, contentType: "application/json",
                                                 call: call("s3", "GetObject", #"{"Bucket":"b","Key":"x.json"}"#)))
        XCTAssertNotEqual(object["contact"], .int(2175550134), "a phone number written as a JSON number passed")
        XCTAssertEqual(object["visits"], .int(3))
        // DescribeTable's creation time is the service's: the SDK parses it as a number.
        let table = #"{"Table": {"CreationDateTime": 1733300000.123, "ItemCount": 2175550134}}"#
        XCTAssertEqual(try m.maskAWSAnswer(table, contentType: "application/x-amz-json-1.0",
                                           call: call("dynamodb", "DescribeTable", #"{"TableName":"Patients"}"#)).value, table)
    }

    func testMetadataHeadersByTheirRuleAndEncodedWordsOfAPHIResource() throws {
        let m = try policy(ResourceSelector(bucket: "b"), [("mrn", .redact, .mrn)])
        let c = call("s3", "HeadObject", #"{"Bucket":"b","Key":"x"}"#)
        XCTAssertEqual(m.maskMetadata("mrn", "A0700000", call: c).value, "[REDACTED]")
        XCTAssertEqual(m.maskMetadata("note", "=?UTF-8?B?Sm9zw6k=?=", call: c).value, "[REDACTED]")
        XCTAssertEqual(m.maskMetadata("batch", "7", call: c).value, "7")
    }

    // MARK: DynamoDB

    func testDynamoDBAttributesAreMaskedWholeAsStringsWhateverTheirType() throws {
        let m = try policy(ResourceSelector(table: "Patients"), [("ssn", .redact, .ssn), ("dob", .null, .date),
                                                                  ("contacts", .redact, nil), ("visits", .partial(keepLast: 2), nil)])
        let body = #"""
        {"Items":[{"mrn":{"S":"A1"},"ssn":{"N":"123456789"},"dob":{"S":"1950-02-03"},
          "contacts":{"M":{"email":{"S":"x@example.org"}}},"visits":{"NS":["1","22"]},
          "profile":{"M":{"ssn":{"S":"\#(ssn)"},"nested":{"L":[{"M":{"ssn":{"BOOL":true}}}]}}},
          "count":{"N":"4"},"blob":{"B":"\#(Data("mail \(email)".utf8).base64EncodedString())"}}],"Count":1}
        """#
        let r = try m.maskAWSAnswer(body, contentType: "application/x-amz-json-1.0", call: call("dynamodb", "Scan", #"{"TableName":"Patients"}"#))
        let item = try XCTUnwrap(try parsed(r)["Items"]?.array?.first)
        XCTAssertEqual(item["ssn"], .object(["S": .string("[REDACTED]")]))
        XCTAssertEqual(item["dob"], .object(["NULL": .bool(true)]))
        XCTAssertEqual(item["contacts"], .object(["S": .string("[REDACTED]")]))
        XCTAssertNotNil(item["visits"]?["S"]?.string, "a number set becomes a string")
        XCTAssertEqual(item["profile"]?["M"]?["ssn"], .object(["S": .string("[REDACTED]")]), "nested maps: their attributes by name")
        XCTAssertEqual(item["profile"]?["M"]?["nested"]?["L"]?.array?.first?["M"]?["ssn"], .object(["S": .string("[REDACTED]")]))
        XCTAssertEqual(item["count"], .object(["N": .string("4")]))
        XCTAssertEqual(item["mrn"], .object(["S": .string("A1")]))
        XCTAssertNotNil(item["blob"]?["S"]?.string, "a binary that holds an email becomes a masked string")
        XCTAssertFalse(try XCTUnwrap(r.value).contains(ssn))
        XCTAssertEqual(r.counts["SSN"], 3)
    }

    func testAnItemWhoseOneAttributeIsNamedLikeATypeIsStillRead() throws {
        let m = Masker(policy: MaskPolicy())
        let body = #"{"Item":{"N":{"S":"mail \#(email)"}}}"#
        let r = try m.maskAWSAnswer(body, contentType: "application/x-amz-json-1.0", call: call("dynamodb", "GetItem", #"{"TableName":"T"}"#))
        XCTAssertFalse(try XCTUnwrap(r.value).contains(email))
    }

    func testSecretsAreNeverShown() throws {
        let m = Masker(policy: MaskPolicy())
        let body = #"{"Name":"db","SecretString":"{\"password\":\"hunter2\"}","SecretBinary":"AAEC"}"#
        let r = try m.maskAWSAnswer(body, contentType: "application/x-amz-json-1.1",
                                    call: call("secretsmanager", "GetSecretValue", #"{"SecretId":"db"}"#))
        let out = try parsed(r)
        XCTAssertEqual(out["SecretString"], .string("[REDACTED]"))
        XCTAssertEqual(out["SecretBinary"].flatMap(\.string).flatMap { Data(base64Encoded: $0) }, Data("[REDACTED]".utf8))
        XCTAssertEqual(r.counts["SECRET"], 2)
    }

    func testLogsInsightsValuesByTheirFieldAndJSONEvents() throws {
        let m = try policy(ResourceSelector(logGroup: "/clinic/*"), [("patient", .redact, .personName), ("ssn", .redact, .ssn)])
        let insights = #"{"results":[[{"field":"patient","value":"Alma Stone"},{"field":"@message","value":"ok"}]],"status":"Complete"}"#
        // GetQueryResults names only its query: every log group rule applies.
        let r = try m.maskAWSAnswer(insights, contentType: "application/x-amz-json-1.1",
                                    call: call("logs", "GetQueryResults", #"{}"#))
        XCTAssertEqual(try parsed(r)["results"]?.array?.first?.array?.first?["value"], .string("[REDACTED]"))
        let events = #"{"events":[{"message":"{\"ssn\":\"000000001\",\"ok\":1}","timestamp":1}]}"#
        let e = try m.maskAWSAnswer(events, contentType: "application/x-amz-json-1.1",
                                    call: call("logs", "FilterLogEvents", #"{"logGroupName":"/clinic/notes"}"#))
        let message = try XCTUnwrap(try parsed(e)["events"]?.array?.first?["message"]?.string)
        XCTAssertEqual(try JSON.parse(message)["ssn"], .string("[REDACTED]"))
    }

    func testAthenaColumnsAndTheHeaderRow() throws {
        let m = try policy(ResourceSelector(service: "athena"), [("ssn", .redact, .ssn)])
        let body = #"""
        {"ResultSet":{"ResultSetMetadata":{"ColumnInfo":[{"Name":"id"},{"Name":"ssn"}]},
         "Rows":[{"Data":[{"VarCharValue":"id"},{"VarCharValue":"ssn"}]},{"Data":[{"VarCharValue":"7"},{"VarCharValue":"000000001"}]}]}}
        """#
        let r = try m.maskAWSAnswer(body, contentType: "application/x-amz-json-1.1", call: call("athena", "GetQueryResults", "{}"))
        let rows = try XCTUnwrap(try parsed(r)["ResultSet"]?["Rows"]?.array)
        XCTAssertEqual(rows[0]["Data"]?.array?[1]["VarCharValue"], .string("ssn"))
        XCTAssertEqual(rows[1]["Data"]?.array?[1]["VarCharValue"], .string("[REDACTED]"))
        XCTAssertEqual(rows[1]["Data"]?.array?[0]["VarCharValue"], .string("7"))
    }

    // MARK: CSV and NDJSON

    func testCSVColumnsQuotedNewlinesAndBrokenRecords() throws {
        let m = try policy(ResourceSelector(bucket: "b"), [("ssn", .partial(keepLast: 4), .ssn), ("name", .redact, .personName)])
        let body = "id,name,ssn,note\r\n1,\"Stone, Alma\",\(ssn),\"line one\nmail \(email)\"\r\n2,Ben,000-00-0000\r\n3,x,y,\"say \"\"hi\"\"\"\r\n"
        let r = try m.maskAWSAnswer(body, contentType: "text/csv", call: call("s3", "GetObject", #"{"Bucket":"b","Key":"p.csv"}"#))
        let out = try XCTUnwrap(r.value)
        XCTAssertTrue(out.hasPrefix("id,name,ssn,note\r\n"))
        XCTAssertTrue(out.contains("1,\"[REDACTED]\",***-**-6789,\"line one\nmail [EMAIL]\"\r\n"), out)
        XCTAssertTrue(out.contains("\r\n[REDACTED]\r\n"), "a record of the wrong width goes whole")
        XCTAssertTrue(out.contains("3,[REDACTED],y,\"say \"\"hi\"\"\"\r\n"), out)
        XCTAssertFalse(out.contains(ssn) || out.contains(email) || out.contains("Alma"))
        XCTAssertEqual(r.counts["SSN"], 2)
        XCTAssertEqual(r.counts["FIELD"], 1)
    }

    func testStreamedCSVKeepsItsHeaderAndRefusesARecordAcrossPieces() throws {
        let m = try policy(ResourceSelector(bucket: "b"), [("ssn", .redact, .ssn)])
        let c = call("s3", "GetObject", #"{"Bucket":"b","Key":"big.csv"}"#)
        var header: CSVHeader? = nil
        let first = try m.maskAWSPiece("id,ssn\n1,000000001\n", format: .csv, call: c, header: &header, context: "")
        XCTAssertEqual(first.value, "id,ssn\n1,[REDACTED]\n")
        let second = try m.maskAWSPiece("2,000000002\n", format: .csv, call: c, header: &header, context: "")
        XCTAssertEqual(second.value, "2,[REDACTED]\n")
        XCTAssertThrowsError(try m.maskAWSPiece("3,\"open\n", format: .csv, call: c, header: &header, context: ""))
    }

    func testACSVHeaderWithAByteOrderMarkOrSpacesNamesItsColumns() throws {
        let m = try policy(ResourceSelector(bucket: "b"), [("ssn", .redact, .ssn)])
        let r = try m.maskAWSAnswer("\u{FEFF}ssn, id\nx,1\n", contentType: "text/csv", call: call("s3", "GetObject", #"{"Bucket":"b","Key":"a.csv"}"#))
        XCTAssertEqual(r.value, "\u{FEFF}ssn, id\n[REDACTED],1\n")
    }

    func testADocumentInAStringIsReadByItsMembers() throws {
        let m = try policy(ResourceSelector(function: "f"), [("ssn", .redact, .ssn)])
        let body = #"{"statusCode":200,"body":"{\"ssn\":\"x\",\"n\":1}"}"#
        let r = try m.maskAWSAnswer(body, contentType: "application/json", call: call("lambda", "Invoke", #"{"FunctionName":"f"}"#))
        let inner = try JSON.parse(XCTUnwrap(try parsed(r)["body"]?.string))
        XCTAssertEqual(inner["ssn"], .string("[REDACTED]"))
    }

    func testNDJSONLineByLine() throws {
        let m = try policy(ResourceSelector(bucket: "b"), [("ssn", .redact, .ssn)])
        let body = "{\"ssn\":\"1\",\"a\":1}\n{\"b\":\"\(email)\"}\nnot json \(ssn)\n"
        let r = try m.maskAWSAnswer(body, contentType: "application/x-ndjson", call: call("s3", "GetObject", #"{"Bucket":"b","Key":"x"}"#))
        let lines = try XCTUnwrap(r.value).split(separator: "\n")
        XCTAssertEqual(lines.count, 3)
        XCTAssertEqual(try JSON.parse(String(lines[0]))["ssn"], .string("[REDACTED]"))
        XCTAssertFalse(lines[1].contains(email))
        XCTAssertEqual(lines[2], "[REDACTED]")
    }

    func testFormatIsReadFromTheBytesNotTheLabel() throws {
        // JSON served as CSV, with a key that says CSV: still read as JSON, members by name.
        let m = try policy(ResourceSelector(bucket: "b"), [("ssn", .redact, .ssn)])
        let r = try m.maskAWSAnswer(#"{"ssn":"x"}"#, contentType: "text/csv", call: call("s3", "GetObject", #"{"Bucket":"b","Key":"a.csv"}"#))
        XCTAssertEqual(try parsed(r)["ssn"], .string("[REDACTED]"))
        // CSV served as text/plain: its header still gives the columns.
        let c = try m.maskAWSAnswer("id,ssn\n1,x\n2,y\n", contentType: "text/plain", call: call("s3", "GetObject", #"{"Bucket":"b","Key":"a.txt"}"#))
        XCTAssertEqual(c.value, "id,ssn\n1,[REDACTED]\n2,[REDACTED]\n")
    }

    func testJSONThatCannotBeReadIsRefusedAndAByteOrderMarkHidesNothing() throws {
        let m = try policy(ResourceSelector(bucket: "b"), [("first_name", .redact, .personName)])
        let c = call("s3", "GetObject", #"{"Bucket":"b","Key":"a.txt"}"#)
        XCTAssertThrowsError(try m.maskAWSAnswer(#"{"first_name":"Alma","first_name":"Ben"}"#, contentType: "text/plain", call: c))
        let r = try m.maskAWSAnswer("\u{FEFF}{\"first_name\":\"Alma\"}", contentType: "text/plain", call: c)
        XCTAssertEqual(r.value, "\u{FEFF}{\"first_name\":\"[REDACTED]\"}")
    }

    func testXMLElementRules() throws {
        let m = try policy(ResourceSelector(bucket: "b"), [("Owner*", .redact, nil)])
        let body = "<R><OwnerName>Alma</OwnerName><Key>k</Key><Owners><v>Ben</v></Owners></R>"
        let r = try m.maskAWSAnswer(body, contentType: "application/xml", call: call("s3", "ListObjectsV2", #"{"Bucket":"b"}"#))
        XCTAssertEqual(r.value, "<R><OwnerName>[REDACTED]</OwnerName><Key>k</Key><Owners><v>[REDACTED]</v></Owners></R>",
                       "a ruled element is masked whatever elements it holds")
    }

    // MARK: ResourceSelector

    func testSelectorReadsARNsPartiQLBucketLevelCallsAndFailsClosedOnUnknownARNs() throws {
        let table = ResourceSelector(table: "Patients")
        XCTAssertTrue(table.matches(CallResources(service: "dynamodb", resources: try JSON.parse(
            #"{"TableName":"arn:aws:dynamodb:us-east-1:000000000000:table/Patients/index/byName"}"#))))
        XCTAssertTrue(table.matches(CallResources(service: "dynamodb", resources: try JSON.parse(
            #"{"Statement":"SELECT * FROM \"Patients\" WHERE mrn = ?"}"#))))
        XCTAssertFalse(table.matches(CallResources(service: "dynamodb", resources: try JSON.parse(#"{"TableName":"Visits"}"#))))
        let fn = ResourceSelector(function: "patient-lookup")
        XCTAssertTrue(fn.matches(CallResources(service: "lambda", resources: try JSON.parse(
            #"{"FunctionName":"arn:aws:lambda:us-east-1:000000000000:function:patient-lookup:PROD"}"#))))
        XCTAssertTrue(fn.matches(CallResources(service: "lambda", resources: try JSON.parse(#"{"FunctionName":"patient-lookup:PROD"}"#))),
                      "a name with a qualifier is the function's")
        XCTAssertTrue(fn.matches(CallResources(service: "lambda", resources: try JSON.parse(
            #"{"FunctionName":"000000000000:function:patient-lookup"}"#))), "a partial ARN")
        XCTAssertFalse(fn.matches(CallResources(service: "lambda", resources: try JSON.parse(#"{"FunctionName":"other:PROD"}"#))))
        let secret = ResourceSelector(secret: "clinic/*")
        XCTAssertTrue(secret.matches(CallResources(service: "secretsmanager", resources: try JSON.parse(
            #"{"SecretId":"arn:aws:secretsmanager:us-east-1:000000000000:secret:clinic/db-admin-AbCdEf"}"#))))
        let bucket = ResourceSelector(bucket: "clinic-exports", key: "exports/*")
        XCTAssertTrue(bucket.matches(CallResources(service: "s3", resources: try JSON.parse(#"{"Bucket":"clinic-exports"}"#))),
                      "a bucket-level call (a listing) touches every key")
        XCTAssertFalse(bucket.matches(CallResources(service: "s3", resources: try JSON.parse(#"{"Bucket":"clinic-exports","Key":"notes/a.txt"}"#))))
        XCTAssertTrue(ResourceSelector(bucket: "clinic-exports").matches(CallResources(service: "s3", resources: try JSON.parse(
            #"{"Bucket":"arn:aws:s3:us-east-1:000000000000:accesspoint/ap1"}"#))), "an access point ARN may be any bucket")
        XCTAssertTrue(ResourceSelector(logGroup: "/clinic/notes").matches(CallResources(service: "logs", resources: try JSON.parse(
            #"{"logGroupIdentifier":"arn:aws:logs:us-east-1:000000000000:log-group:/clinic/notes:*"}"#))))
        XCTAssertThrowsError(try ResourceSelector(try JSON.parse(#"{"bucket":"a","table":"b"}"#), what: "rule"))
        XCTAssertThrowsError(try ResourceSelector(try JSON.parse(#"{"key":"a"}"#), what: "rule"))
    }
}
