import Foundation
import XCTest
@testable import HoopApproval
import HoopFrames
import HoopMasking

/// The default call rules (docs/approval.md, "Rules for API calls") judging calls as a
/// door writes them, and what an approval of a call is for (its fingerprint).
final class CallRuleTests: XCTestCase {
    static let awsConnection: JSON = .object([
        "kind": .string("aws"),
        "masking": .object(["resources": .array([
            .object(["bucket": .string("clinic-*")]), .object(["table": .string("Patients")]),
            .object(["function": .string("patient-lookup")]), .object(["secret": .string("clinic/*")]),
        ])]),
    ])
    let policy = try! Policy(connection: awsConnection, gateway: .object([:]))
    let agent = Requester(issuer: "https://idp.test", subject: "a1", user: "agent@example.org", groups: ["agents"], kind: "agent")

    func call(_ service: String, _ op: String, _ iam: String, _ access: String, _ params: [String: JSON] = [:],
              resources: [String: JSON]? = nil, extra: [String: JSON] = [:]) -> JSON {
        var o: [String: JSON] = ["signing_name": .string(service), "action": .string(op), "iam_action": .string(iam),
                                 "access": .string(access), "params": .object(params), "resources": .object(resources ?? params)]
        for (k, v) in extra { o[k] = v }
        return .object(o)
    }

    func verdict(_ c: JSON) -> Verdict { policy.verdict(call: CallFacts(c), agent) }

    func testTheDefaultRulesByLevelAndByName() {
        let table: [(JSON, Action, String)] = [
            (call("s3", "ListBuckets", "s3:ListAllMyBuckets", "List"), .allow, "allow-list"),
            (call("s3", "GetObject", "s3:GetObject", "Read", ["Bucket": "clinic-exports", "Key": "a.csv"]), .allow, "allow-read"),
            (call("dynamodb", "Scan", "dynamodb:Scan", "Read", ["TableName": "Patients", "Limit": .int(50)]), .allow, "allow-read"),
            (call("dynamodb", "Scan", "dynamodb:Scan", "Read", ["TableName": "Patients"]), .review, "review-phi-bulk-read"),
            (call("dynamodb", "Scan", "dynamodb:Scan", "Read", ["TableName": "Patients", "Limit": .int(5000)]), .review, "review-phi-large-read"),
            // A Limit the service may read as none, or that no bound can read, is no bound.
            (call("dynamodb", "Scan", "dynamodb:Scan", "Read", ["TableName": "Patients", "Limit": .int(-1)]), .review, "review-phi-large-read"),
            (call("dynamodb", "Scan", "dynamodb:Scan", "Read", ["TableName": "Patients", "Limit": .int(0)]), .review, "review-phi-large-read"),
            (call("dynamodb", "Scan", "dynamodb:Scan", "Read", ["TableName": "Patients", "Limit": "all"]), .review, "review-phi-large-read"),
            (call("dynamodb", "Scan", "dynamodb:Scan", "Read", ["TableName": "Patients", "Limit": .array([.int(5)])]), .review, "review-phi-large-read"),
            (call("dynamodb", "Scan", "dynamodb:Scan", "Read", ["TableName": "Patients", "Limit": "1000"]), .allow, "allow-read"),
            (call("dynamodb", "Scan", "dynamodb:Scan", "Read", ["TableName": "Other"]), .allow, "allow-read"),
            // A table named by its ARN is the same table.
            (call("dynamodb", "Scan", "dynamodb:Scan", "Read", ["TableName": "arn:aws:dynamodb:us-east-1:1:table/Patients"]),
             .review, "review-phi-bulk-read"),
            (call("iam", "CreateAccessKey", "iam:CreateAccessKey", "Permissions management", ["UserName": "u"]), .deny, "no-permissions-management"),
            (call("iam", "CreateUser", "iam:CreateUser", "Write", ["UserName": "u"]), .deny, "no-privilege-escalation"),
            (call("iam", "ListUsers", "iam:ListUsers", "List"), .allow, "allow-list"),
            (call("s3", "PutBucketPolicy", "s3:PutBucketPolicy", "Permissions management", ["Bucket": "b"]), .deny, "no-permissions-management"),
            (call("ec2", "ModifyImageAttribute", "ec2:ModifyImageAttribute", "Write"), .deny, "no-resource-exposure"),
            (call("secretsmanager", "GetSecretValue", "secretsmanager:GetSecretValue", "Read", ["SecretId": "x"]), .deny, "no-credential-exposure"),
            (call("ssm", "GetParameter", "ssm:GetParameter", "Read", ["Name": "p", "WithDecryption": .bool(true)]), .deny, "no-decrypted-parameters"),
            (call("ssm", "GetParameter", "ssm:GetParameter", "Read", ["Name": "p"]), .allow, "allow-read"),
            (call("ssm", "GetParameter", "ssm:GetParameter", "Read", ["Name": "p", "WithDecryption": .bool(false)]), .allow, "allow-read"),
            // A flag given loosely is read as a loose service reads it (moto: any truthy value).
            (call("ssm", "GetParameter", "ssm:GetParameter", "Read", ["Name": "p", "WithDecryption": .int(1)]), .deny, "no-decrypted-parameters"),
            (call("ssm", "GetParameter", "ssm:GetParameter", "Read", ["Name": "p", "WithDecryption": "yes"]), .deny, "no-decrypted-parameters"),
            (call("ssm", "GetParameters", "ssm:GetParameters", "Read", ["Names": .array([.string("p")]), "WithDecryption": .array([.bool(true)])]), .deny, "no-decrypted-parameters"),
            // Secrets Manager's secrets through Parameter Store, with or without WithDecryption (hunt s41).
            (call("ssm", "GetParameters", "ssm:GetParameters", "Read", ["Names": .array([.string("/aws/reference/secretsmanager/clinic/db-admin")])]),
             .deny, "no-secret-references"),
            (call("ssm", "GetParameter", "ssm:GetParameter", "Read", ["Name": "/aws/reference/secretsmanager/x"]), .deny, "no-secret-references"),
            (call("ssm", "GetParametersByPath", "ssm:GetParametersByPath", "Read", ["Path": "/aws/reference/"]), .deny, "no-secret-reference-paths"),
            (call("ssm", "GetParameters", "ssm:GetParameters", "Read", ["Names": .array([.string("/app/feature")])]), .allow, "allow-read"),
            // Filters of the same power as FilterExpression (hunt s42): a key condition on a
            // sort key other than equality, and a listing of a PHI bucket by part of a name.
            (call("dynamodb", "Query", "dynamodb:Query", "Read", ["TableName": "Patients", "Select": "COUNT",
                  "KeyConditionExpression": "diagnosis = :d AND begins_with(date_of_birth, :p)"]), .review, "review-phi-key-range"),
            (call("dynamodb", "Query", "dynamodb:Query", "Read", ["TableName": "Patients",
                  "KeyConditionExpression": "pk = :p and sk BETWEEN :a AND :b"]), .review, "review-phi-key-range"),
            (call("dynamodb", "Query", "dynamodb:Query", "Read", ["TableName": "Patients", "KeyConditionExpression": "pk = :p and sk <= :a"]),
             .review, "review-phi-key-range"),
            (call("dynamodb", "Query", "dynamodb:Query", "Read", ["TableName": "Patients",
                  "KeyConditions": .object(["pk": .object(["ComparisonOperator": "EQ"])])]), .review, "review-phi-key-conditions"),
            (call("dynamodb", "Query", "dynamodb:Query", "Read", ["TableName": "Patients", "KeyConditionExpression": "pk = :p"]),
             .allow, "allow-read"),
            // A sort key given to start after is a binary search on it; S3 Select's WHERE (s43).
            (call("dynamodb", "Query", "dynamodb:Query", "Read", ["TableName": "Patients", "KeyConditionExpression": "pk = :p",
                  "ExclusiveStartKey": .object(["pk": .object(["S": "x"]), "sk": .object(["S": "1984"])])]), .review, "review-phi-key-start-after"),
            (call("dynamodb", "Query", "dynamodb:Query", "Read", ["TableName": "Other", "KeyConditionExpression": "pk = :p",
                  "ExclusiveStartKey": .object(["pk": .object(["S": "x"])])]), .allow, "allow-read"),
            (call("s3", "SelectObjectContent", "s3:GetObject", "Read", ["Bucket": "clinic-exports", "Key": "exports/a.csv"]),
             .review, "review-phi-select"),
            (call("dynamodb", "Query", "dynamodb:Query", "Read", ["TableName": "Other", "KeyConditionExpression": "pk = :p and sk > :a"]),
             .allow, "allow-read"),
            (call("s3", "ListObjectsV2", "s3:ListBucket", "List", ["Bucket": "clinic-exports", "prefix": "scans/LAST_FIRST_1984-0"],
                  resources: ["Bucket": "clinic-exports"]), .review, "review-phi-key-prefix"),
            (call("s3", "ListObjectsV2", "s3:ListBucket", "List", ["Bucket": "clinic-exports", "Prefix": "scans/L"],
                  resources: ["Bucket": "clinic-exports"]), .review, "review-phi-key-prefix"),
            (call("s3", "ListObjectsV2", "s3:ListBucket", "List", ["Bucket": "clinic-exports", "start-after": "scans/M"],
                  resources: ["Bucket": "clinic-exports"]), .review, "review-phi-key-start"),
            (call("s3", "ListObjects", "s3:ListBucket", "List", ["Bucket": "clinic-exports", "marker": "scans/M"],
                  resources: ["Bucket": "clinic-exports"]), .review, "review-phi-key-marker"),
            (call("s3", "ListObjectVersions", "s3:ListBucketVersions", "List", ["Bucket": "clinic-exports", "key-marker": "scans/M"],
                  resources: ["Bucket": "clinic-exports"]), .review, "review-phi-key-marker"),
            (call("s3", "ListObjectsV2", "s3:ListBucket", "List", ["Bucket": "clinic-exports", "prefix": "scans/", "continuation-token": "t"],
                  resources: ["Bucket": "clinic-exports"]), .allow, "allow-list"),
            (call("s3", "ListObjectsV2", "s3:ListBucket", "List", ["Bucket": "other", "prefix": "scans/L"],
                  resources: ["Bucket": "other"]), .allow, "allow-list"),
            (call("logs", "DescribeLogStreams", "logs:DescribeLogStreams", "List", ["logGroupName": "/clinic/x", "logStreamNamePrefix": "a"],
                  resources: ["logGroupName": "/clinic/x"]), .allow, "allow-list"),
            // The bucket's root (an empty prefix) and a folder's listing by `/` stay listings;
            // another delimiter cuts key names at a guess (the review of s42).
            (call("s3", "ListObjectsV2", "s3:ListBucket", "List", ["Bucket": "clinic-exports", "prefix": "", "delimiter": "/"],
                  resources: ["Bucket": "clinic-exports"]), .allow, "allow-list"),
            (call("s3", "ListObjectsV2", "s3:ListBucket", "List", ["Bucket": "clinic-exports", "delimiter": "SMITH_JOHN_1984-0"],
                  resources: ["Bucket": "clinic-exports"]), .review, "review-phi-key-delimiter"),
            // A name in another case is no Limit to DynamoDB: the bulk read is still unbounded.
            (call("dynamodb", "Scan", "dynamodb:Scan", "Read", ["TableName": "Patients", "limit": .int(5)]), .review, "review-phi-bulk-read"),
            (call("cloudtrail", "StopLogging", "cloudtrail:StopLogging", "Write", ["Name": "t"]), .deny, "no-audit-weakening"),
            (call("kms", "ScheduleKeyDeletion", "kms:ScheduleKeyDeletion", "Write", ["KeyId": "k"]), .deny, "no-audit-weakening"),
            (call("dynamodb", "ExportTableToPointInTime", "dynamodb:ExportTableToPointInTime", "Write"), .review, "review-bulk-export"),
            (call("s3", "CopyObject", "s3:PutObject", "Write", ["Bucket": "scratch", "Key": "k", "CopySource": "clinic-exports/a.csv"]),
             .review, "review-phi-copy"),
            (call("dynamodb", "DeleteTable", "dynamodb:DeleteTable", "Write", ["TableName": "t"]), .review, "review-destructive"),
            (call("ec2", "RunInstances", "ec2:RunInstances", "Write", ["ImageId": "ami-1"]), .review, "review-compute"),
            (call("lambda", "Invoke", "lambda:InvokeFunction", "Write", ["FunctionName": "f"]), .review, "review-compute"),
            (call("dynamodb", "TagResource", "dynamodb:TagResource", "Tagging"), .review, "review-tagging"),
            (call("dynamodb", "PutItem", "dynamodb:PutItem", "Write", ["TableName": "t"]), .review, "review-writes"),
            (call("foo", "DoSomething", "foo:DoSomething", ""), .deny, "no-rule"),
        ]
        for (c, action, rule) in table {
            let v = verdict(c)
            XCTAssertEqual(v.action, action, "\(c["action"]!.string!): \(v.summary)")
            XCTAssertEqual(v.reasons.first?.rule, rule, c["action"]!.string!)
        }
    }

    /// Presigned URLs and unlock codes are reveals_secrets by the generated table (denied
    /// whatever the level); what the models cannot say is named; answers that are images
    /// hoop-mask cannot read are held (hunt s43).
    func testPresignedURLsAreDeniedAndImageAnswersAreHeld() {
        let image: [String: JSON] = ["answers_image": .bool(true)]
        let table: [(JSON, Action, String)] = [
            (call("snowball", "GetJobUnlockCode", "snowball:GetJobUnlockCode", "Read", ["JobId": "j"],
                  extra: ["reveals_secrets": .bool(true)]), .deny, "no-secret-answers"),
            (call("auditmanager", "GetAssessmentReportUrl", "auditmanager:GetAssessmentReportUrl", "Read",
                  extra: ["reveals_secrets": .bool(true)]), .deny, "no-secret-answers"),
            (call("devicefarm", "ListArtifacts", "devicefarm:ListArtifacts", "List", extra: ["reveals_secrets": .bool(true)]),
             .deny, "no-secret-answers"),
            // A layer's Location and Beanstalk's Message are presigned URLs no model calls so.
            (call("lambda", "GetLayerVersion", "lambda:GetLayerVersion", "Read"), .deny, "no-credential-exposure"),
            (call("elasticbeanstalk", "RetrieveEnvironmentInfo", "elasticbeanstalk:RetrieveEnvironmentInfo", "Read"),
             .deny, "no-credential-exposure"),
            (call("ec2", "GetConsoleScreenshot", "ec2:GetConsoleScreenshot", "Read", ["InstanceId": "i-1"], extra: image),
             .review, "review-image-answers"),
            (call("medical-imaging", "GetImageFrame", "medical-imaging:GetImageFrame", "Read", extra: image), .review, "review-image-answers"),
            (call("rekognition", "GetFaceLivenessSessionResults", "rekognition:GetFaceLivenessSessionResults", "Read", extra: image),
             .review, "review-image-answers"),
            // An image answer of no known level stays denied; a write stays a held write.
            (call("bedrock", "Converse", "bedrock:Converse", "", extra: image), .deny, "no-rule"),
            (call("cognito-idp", "UpdateManagedLoginBranding", "cognito-idp:UpdateManagedLoginBranding", "Write", extra: image),
             .review, "review-writes"),
            // Its text output is masked: it stays a read.
            (call("ec2", "GetConsoleOutput", "ec2:GetConsoleOutput", "Read", ["InstanceId": "i-1"]), .allow, "allow-read"),
            // A URL that is not signed is no credential.
            (call("sqs", "GetQueueUrl", "sqs:GetQueueUrl", "Read", ["QueueName": "q"]), .allow, "allow-read"),
        ]
        for (c, action, rule) in table {
            let v = verdict(c)
            XCTAssertEqual(v.action, action, "\(c["action"]!.string!): \(v.reasons.first?.rule ?? "")")
            XCTAssertEqual(v.reasons.first?.rule, rule, c["action"]!.string!)
        }
    }

    func testAPassedRoleIsFoundAtAnyDepthAndInFlattenedNames() {
        XCTAssertEqual(verdict(call("ec2", "RunInstances", "ec2:RunInstances", "Write", ["IamInstanceProfile.Name": "admin"])).reasons.first?.rule, "no-pass-role")
        XCTAssertEqual(verdict(call("lambda", "CreateFunction", "lambda:CreateFunction", "Write",
                                    ["FunctionName": "f", "Role": "arn:aws:iam::1:role/admin"])).action, .deny)
        XCTAssertEqual(verdict(call("ecs", "RunTask", "ecs:RunTask", "Write",
                                    ["overrides": .object(["taskRoleArn": "arn:aws:iam::1:role/x"])])).reasons.first?.rule, "no-pass-role")
        XCTAssertEqual(verdict(call("glue", "CreateJob", "glue:CreateJob", "Write",
                                    ["Roles": .array([.object(["RoleArn": "r"])])])).action, .deny)
    }

    func testWhatAReviewFoundIsJudgedByItsEffect() {
        let table: [(JSON, Action, String)] = [
            // A role handed over as a map entry's value (SNS attributes in the query form).
            (call("sns", "SetTopicAttributes", "sns:SetTopicAttributes", "Write",
                  ["Attributes.entry.1.key": "LambdaSuccessFeedbackRoleArn", "Attributes.entry.1.value": "arn:aws:iam::1:role/admin"]),
             .deny, "no-pass-role"),
            // Resource policies written by calls IAM levels Write.
            (call("sqs", "CreateQueue", "sqs:CreateQueue", "Write", ["QueueName": "q", "Attributes": .object(["Policy": "{}"])]),
             .deny, "no-resource-policies"),
            (call("sns", "CreateTopic", "sns:CreateTopic", "Write", ["Name": "t", "Attributes.entry.1.key": "Policy",
                                                                    "Attributes.entry.1.value": "{}"]), .deny, "no-resource-policies"),
            (call("kms", "CreateKey", "kms:CreateKey", "Write", ["Policy": "{}"]), .deny, "no-resource-policies"),
            (call("sqs", "CreateQueue", "sqs:CreateQueue", "Write", ["QueueName": "q", "Attributes": .object(["RedrivePolicy": "{}"])]),
             .review, "review-writes"),
            // Headers that need more than s3:PutObject in IAM (decoded by the door into params).
            (call("s3", "CopyObject", "s3:PutObject", "Write", ["Bucket": "b", "Key": "k", "CopySource": "x/y", "ACL": "public-read"]),
             .deny, "no-public-acl"),
            (call("s3", "PutObject", "s3:PutObject", "Write", ["Bucket": "b", "Key": "k", "GrantRead": "id=abc"]), .deny, "no-acl-grants"),
            (call("s3", "DeleteObject", "s3:DeleteObject", "Write", ["Bucket": "b", "Key": "k", "BypassGovernanceRetention": "true"]),
             .deny, "no-lock-bypass"),
            (call("s3", "PutObject", "s3:PutObject", "Write", ["Bucket": "b", "Key": "k", "ACL": "bucket-owner-full-control"]),
             .review, "review-writes"),
            // A filter on a PHI table is an oracle on its masked values.
            (call("dynamodb", "Scan", "dynamodb:Scan", "Read", ["TableName": "Patients", "Limit": .int(10), "Select": "COUNT",
                                                              "FilterExpression": "begins_with(ssn, :p)"]), .review, "review-phi-filter"),
            (call("dynamodb", "Query", "dynamodb:Query", "Read", ["TableName": "Patients", "QueryFilter": .object([:])]),
             .review, "review-phi-filter"),
            (call("dynamodb", "Query", "dynamodb:Query", "Read", ["TableName": "Patients", "KeyConditionExpression": "mrn = :m"]),
             .allow, "allow-read"),
            // Answers that carry credentials, whatever the level.
            (call("ssm", "GetAccessToken", "ssm:GetAccessToken", "Read", extra: ["reveals_secrets": .bool(true)]), .deny, "no-secret-answers"),
            (call("lambda", "ListFunctions", "lambda:ListFunctions", "List", extra: ["reveals_secrets": .bool(true)]), .deny, "no-secret-answers"),
            (call("appsync", "ListApiKeys", "appsync:ListApiKeys", "List", ["apiId": "a"]), .deny, "no-credential-exposure"),
            // Reads that act; a read passes at once only under a reading verb.
            (call("sqs", "ReceiveMessage", "sqs:ReceiveMessage", "Read", ["QueueUrl": "q"]), .review, "review-acting-reads"),
            (call("dms", "TestConnection", "dms:TestConnection", "Read", ["EndpointArn": "e"]), .review, "review-reads-that-may-act"),
            (call("ecr", "BatchCheckLayerAvailability", "ecr:BatchCheckLayerAvailability", "Read"), .allow, "allow-read"),
            (call("cognito-idp", "AdminGetUser", "cognito-idp:AdminGetUser", "Read"), .allow, "allow-read"),
            // A watching service's changes, whatever their verb; grants by other names.
            (call("guardduty", "CreateFilter", "guardduty:CreateFilter", "Write", ["DetectorId": "d"]), .deny, "no-security-service-changes"),
            (call("cloudtrail", "StartQuery", "cloudtrail:StartQuery", "Write"), .review, "review-writes"),   // CloudTrail Lake queries: held, not denied
            (call("appstream", "UpdateImagePermissions", "appstream:UpdateImagePermissions", "Write",
                  ["Name": "img", "SharedAccountId": "111122223333"]), .deny, "no-resource-policies"),
            (call("logs", "PutDeliveryDestinationPolicy", "logs:PutDeliveryDestinationPolicy", "Write",
                  ["deliveryDestinationPolicy": "{\"Statement\": []}"]), .deny, "no-resource-policies"),
            (call("efs", "PutLifecycleConfiguration", "elasticfilesystem:PutLifecycleConfiguration", "Write",
                  ["LifecyclePolicies": .array([.object(["TransitionToIA": "AFTER_30_DAYS"])])]), .review, "review-writes"),
            (call("logs", "StartQuery", "logs:StartQuery", "Read", ["queryString": "fields @message"]), .review, "review-acting-reads"),
            (call("dynamodb", "ExecuteStatement", "dynamodb:PartiQLSelect", "Read", ["Statement": "SELECT * FROM Other WHERE k = 1"]),
             .allow, "allow-partiql-select"),
            (call("dynamodb", "ExecuteStatement", "dynamodb:PartiQLSelect", "Read", ["Statement": "SELECT * FROM Patients.byEmail",
                                                                                    "Limit": .int(100000)]),
             .review, "review-phi-large-read"),
            // A WHERE on a PHI table is a filter too (the oracle of a Scan's FilterExpression).
            (call("dynamodb", "ExecuteStatement", "dynamodb:PartiQLSelect", "Read",
                  ["Statement": "SELECT mrn FROM \"Patients\"\nWhere begins_with(ssn, '385')", "Limit": .int(1)]),
             .review, "review-phi-partiql-filter"),
            // Names in forms the reader cannot reduce are PHI (fail closed); a qualifier is read off.
            (call("s3", "CopyObject", "s3:PutObject", "Write", ["Bucket": "b", "Key": "k", "CopySource": "ap-1234-s3alias/a.csv"]),
             .review, "review-phi-copy"),
            (call("dynamodb", "Scan", "dynamodb:Scan", "Read", ["TableName": "Patients:odd"]), .review, "review-phi-bulk-read"),
        ]
        for (c, action, rule) in table {
            let v = verdict(c)
            XCTAssertEqual(v.action, action, "\(c["action"]!.string!): \(v.summary)")
            XCTAssertEqual(v.reasons.first?.rule, rule, c["action"]!.string!)
        }
        let phi = policy.phiResources
        func touches(_ service: String, _ resources: [String: JSON]) -> Bool {
            phi.contains { $0.matches(CallResources(service: service, resources: .object(resources))) }
        }
        XCTAssertTrue(touches("lambda", ["FunctionName": "patient-lookup:prod"]))
        XCTAssertTrue(touches("lambda", ["FunctionName": "123456789012:function:patient-lookup"]))
        XCTAssertFalse(touches("lambda", ["FunctionName": "other-fn:prod"]))
        XCTAssertTrue(touches("secretsmanager", ["SecretId": "arn:aws:secretsmanager:us-east-1:1:secret:clinic/db-AbCdEf"]))
    }

    func testAnAllowRuleWithoutActionsNeverPassesAnOperationOfUnknownLevel() throws {
        let open = try Policy(connection: .object(["kind": "aws", "approval": .object(["rules": .array([
            .object(["name": "all", "action": "allow"])])])]), gateway: .object([:]))
        XCTAssertEqual(open.verdict(call: CallFacts(call("foo", "Do", "foo:Do", "")), agent).action, .deny)
        XCTAssertEqual(open.verdict(call: CallFacts(call("foo", "Do", "foo:Do", "Write")), agent).action, .allow)
        let named = try Policy(connection: .object(["kind": "aws", "approval": .object(["rules": .array([
            .object(["name": "foo", "action": "allow", "match": .object(["actions": "foo:Do"])])])])]), gateway: .object([:]))
        XCTAssertEqual(named.verdict(call: CallFacts(call("foo", "Do", "foo:Do", "")), agent).action, .allow)
        XCTAssertEqual(named.verdict(call: CallFacts(call("foo", "Other", "foo:Other", "Read")), agent).action, .deny, "no rule: denied")
    }

    /// A name given twice (a REST query's `prefix=a&prefix=b`, CallParams) is a list: each
    /// value judged, any one for a rule that holds back, every one for a rule that allows
    /// (review s43: an anchored glob compared the list's text and let the call through).
    func testEachValueOfANameGivenTwiceIsJudged() throws {
        let p = try Policy(connection: .object(["kind": "aws", "approval": .object(["rules": .array([
            .object(["name": "hold-reports", "action": "review", "match": .object(["actions": "s3:ListBucket", "params": .object(["prefix": "reports/*"])])]),
            .object(["name": "allow-folders", "action": "allow", "match": .object(["actions": "s3:ListBucket", "params": .object(["prefix": "*/"])])]),
            .object(["name": "rest", "action": "deny"])])])]), gateway: .object([:]))
        func v(_ prefix: JSON) -> String {
            p.verdict(call: CallFacts(call("s3", "ListObjectsV2", "s3:ListBucket", "List", ["Bucket": "b", "prefix": prefix])), agent).reasons.first?.rule ?? ""
        }
        XCTAssertEqual(v("reports/2024"), "hold-reports")
        XCTAssertEqual(v(.array(["reports/2024", "x"])), "hold-reports")
        XCTAssertEqual(v(.array(["x", "reports/2024"])), "hold-reports")
        XCTAssertEqual(v("scans/"), "allow-folders")
        XCTAssertEqual(v(.array(["scans/", "scans/"])), "allow-folders")
        XCTAssertEqual(v(.array(["scans/", "scans/LAST_"])), "rest", "an allow holds for every value")
    }

    func testConditionsOfTheOtherKindAndMisspeltOnesAreRefused() {
        func rules(_ kind: String, _ match: JSON) throws -> Policy {
            try Policy(connection: .object(["kind": .string(kind), "approval": .object(["rules": .array([
                .object(["name": "r", "action": "allow", "match": match])])])]), gateway: .object([:]))
        }
        XCTAssertThrowsError(try rules("aws", .object(["tables": "patients"])))
        XCTAssertThrowsError(try rules("postgres", .object(["actions": "s3:*"])))
        XCTAssertThrowsError(try rules("aws", .object(["access": "Writes"])))
        XCTAssertThrowsError(try rules("aws", .object(["resources": .object(["bucket": "a", "table": "b"])])))
        XCTAssertThrowsError(try rules("aws", .object(["params": .object(["Limit": .object(["more": .int(3)])])])))
        XCTAssertThrowsError(try Policy(connection: .object(["kind": "aws", "approval": .object(["calls": "allow_all"])]), gateway: .object([:])))
        XCTAssertNoThrow(try rules("aws", .object(["actions": .array(["s3:Get*"]), "access": "Read", "params": .object(["Limit": .null]),
                                                     "resources": .array([.object(["bucket": "b", "key": "k/*"])])])))
    }

    func testAFingerprintLeavesOutPagesIdempotencyTokensAndPerAttemptHeaders() {
        func scan(_ params: [String: JSON], headers: [String: JSON] = [:], body: String? = nil) -> JSON {
            call("dynamodb", "Scan", "dynamodb:Scan", "Read", params, extra: [
                "paging": .array(["ExclusiveStartKey"]), "idempotency": .array(["ClientToken"]), "method": "POST", "path": "/",
                "protocol": "json", "region": "us-east-1",
                "query": "", "headers": .object(headers),
                "body": .string(body ?? JSON.object(params).encodedString)])
        }
        let first = scan(["TableName": "Patients"], headers: ["amz-sdk-invocation-id": "1", "content-length": "24"])
        let page = scan(["TableName": "Patients", "ExclusiveStartKey": .object(["mrn": .object(["S": "MRN-2"])])],
                        headers: ["amz-sdk-invocation-id": "2", "content-length": "70"])
        XCTAssertEqual(CallFingerprint.of(first), CallFingerprint.of(page))
        XCTAssertTrue(CallFacts(page).isLaterPage)
        XCTAssertFalse(CallFacts(first).isLaterPage)
        XCTAssertEqual(CallFingerprint.of(scan(["TableName": "Patients", "ClientToken": "a"])),
                       CallFingerprint.of(scan(["TableName": "Patients", "ClientToken": "b"])))
        // What the call does is in it: another table, another filter, another header, another body.
        XCTAssertNotEqual(CallFingerprint.of(first), CallFingerprint.of(scan(["TableName": "Other"])))
        XCTAssertNotEqual(CallFingerprint.of(first), CallFingerprint.of(scan(["TableName": "Patients", "FilterExpression": "a"])))
        XCTAssertNotEqual(CallFingerprint.of(first), CallFingerprint.of(scan(["TableName": "Patients"], headers: ["x-amz-acl": "public-read"])))
        XCTAssertNotEqual(CallFingerprint.of(scan(["TableName": "Patients"], body: "{\"TableName\":\"Patients\"}")),
                          CallFingerprint.of(scan(["TableName": "Patients"], body: "{\"TableName\":\"Patients\",\"Segment\":1}")))
        // The region is what runs too: the same call in another region is another call.
        var elsewhere = first.object!
        elsewhere["region"] = "us-west-2"
        XCTAssertNotEqual(CallFingerprint.of(first), CallFingerprint.of(.object(elsewhere)))
        // The approver reads the call, without the page's token.
        let text = CallFingerprint.readable(page)
        XCTAssertTrue(text.contains("dynamodb:Scan (IAM dynamodb:Scan, Read)") && text.contains("TableName: Patients"), text)
        XCTAssertFalse(text.contains("MRN-2"), text)
    }
}

extension JSON: ExpressibleByStringLiteral {
    public init(stringLiteral value: String) { self = .string(value) }
}
