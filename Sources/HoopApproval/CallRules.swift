import Crypto
import Foundation
import HoopFrames
import HoopMasking

/// A `params` condition on one parameter of a call: `null` (absent), `true` (present),
/// a string (a glob on its text; `!GLOB`: present and not matching it), a list of globs
/// (one of them matches), a number (equal), `{"above": N}` / `{"below": N}`,
/// `{"outside": [LO, HI]}`. A value a bound cannot read as a number (`"all"`, `[5]`)
/// is outside every bound: a rule that holds large values holds what it cannot read.
enum ParamTest: Sendable {
    case absent, present, glob(String), notGlob(String), anyGlob([String]), equals(Double), above(Double), below(Double),
         outside(Double, Double)

    init(_ v: JSON, rule: String, param: String) throws {
        switch v {
        case .null: self = .absent
        case .bool(true): self = .present
        case .string(let g) where g.hasPrefix("!"): self = .notGlob(String(g.dropFirst()))
        case .string(let g): self = .glob(g)
        case .array(let list) where !list.isEmpty && list.allSatisfy({ $0.string != nil }):
            self = .anyGlob(list.compactMap(\.string))
        default:
            if let n = CallFacts.number(v) { self = .equals(n); return }
            if let n = v["above"].flatMap(CallFacts.number) { self = .above(n); return }
            if let n = v["below"].flatMap(CallFacts.number) { self = .below(n); return }
            if let r = v["outside"]?.array, r.count == 2, let lo = CallFacts.number(r[0]), let hi = CallFacts.number(r[1]), lo <= hi {
                self = .outside(lo, hi); return
            }
            throw ConfigError("approval rule \"\(rule)\": params.\(param) must be null, true, a string, a list of strings, a number, {\"above\": N}, {\"below\": N} or {\"outside\": [LO, HI]}")
        }
    }

    func holds(_ value: JSON?) -> Bool {
        switch self {
        case .absent: return value == nil || value == .null
        case .present: return value != nil && value != .null
        case .glob(let g) where g.lowercased() == "true":
            // A flag a service may read loosely (moto takes any truthy value: 1, "yes",
            // [true], even "false"): anything but false itself holds.
            guard let value, value != .null else { return false }
            return value != .bool(false)
        case .glob(let g): return value.map { Glob.matches(g, CallFacts.text($0)) } ?? false
        case .notGlob(let g):
            guard let value, value != .null, !CallFacts.text(value).isEmpty else { return false }
            return !Glob.matches(g, CallFacts.text(value))
        case .anyGlob(let globs): return value.map { v in globs.contains { Glob.matches($0, CallFacts.text(v)) } } ?? false
        case .equals(let n): return value.flatMap(CallFacts.number) == n
        case .above(let n): return bound(value) { $0 > n }
        case .below(let n): return bound(value) { $0 < n }
        case .outside(let lo, let hi): return bound(value) { $0 < lo || $0 > hi }
        }
    }

    /// A present value against a bound: what is not a finite number holds.
    private func bound(_ value: JSON?, _ test: (Double) -> Bool) -> Bool {
        guard let value, value != .null else { return false }
        guard let n = CallFacts.number(value), n.isFinite else { return true }
        return test(n)
    }
}

/// What a `call` frame says, as the rules read it (docs/frames.md, "API calls").
public struct CallFacts: Sendable {
    public var service: String          // the signing name: s3, dynamodb, …
    public var operation: String        // the API's name: CopyObject
    public var iamAction: String        // s3:PutObject
    public var access: String           // List, Read, Write, Tagging, Permissions management; "" unknown
    public var params: [String: JSON]
    public var resources: CallResources
    /// Parameters that only say which page of a listing (botocore's paginators' input tokens).
    public var paging: Set<String>
    /// Idempotency tokens the SDKs make per call (ClientToken): not what the call does.
    public var idempotency: Set<String>
    /// Its answer carries credentials or secrets (the door's table, from botocore's sensitive members).
    public var revealsSecrets: Bool
    /// Its answer holds an image hoop-mask cannot read (the door's table).
    public var answersImage: Bool
    public var region: String

    public init(_ f: JSON) {
        service = f["signing_name"]?.string ?? f["service"]?.string ?? ""
        operation = f["action"]?.string ?? ""
        iamAction = f["iam_action"]?.string ?? ""
        access = f["access"]?.string ?? ""
        params = f["params"]?.object ?? [:]
        resources = CallResources(service: service, resources: f["resources"])
        paging = Set((f["paging"]?.array ?? []).compactMap(\.string))
        idempotency = Set((f["idempotency"]?.array ?? []).compactMap(\.string))
        revealsSecrets = f["reveals_secrets"]?.bool ?? false
        answersImage = f["answers_image"]?.bool ?? false
        region = f["region"]?.string ?? ""
    }

    /// A page after the first of a listing: it carries a pagination token.
    public var isLaterPage: Bool {
        paging.contains { name in
            guard let v = params[name] else { return false }
            return v != .null && v != .string("") && v != .object([:])
        }
    }

    /// `s3:CopyObject`: the operation as rules may name it beside its IAM action.
    public var serviceOperation: String { "\(service):\(operation)" }

    /// A call that hands a role to a service (what IAM's `iam:PassRole` guards): any
    /// parameter, at any depth, naming a role or an instance profile, in a call that is
    /// not IAM's or STS's own (there a role is what the call acts on).
    public var passesRole: Bool {
        guard service != "iam" && service != "sts" else { return false }
        func names(_ key: String) -> Bool {
            let k = key.lowercased()
            return k == "role" || k.hasSuffix("rolearn") || k.hasSuffix("role") || k.contains("instanceprofile")
                || k.hasSuffix("rolename") || k == "credentials"
        }
        // A role's ARN as a value, wherever it is (a map entry of SNS's attributes, an
        // API Gateway integration's credentials).
        func isRoleARN(_ v: JSON) -> Bool {
            guard let t = v.string?.lowercased(), t.hasPrefix("arn:") else { return false }
            return t.contains(":role/") || t.contains(":instance-profile/")
        }
        return Self.any(params) { key, value in
            // Query protocols flatten members: "IamInstanceProfile.Arn", "Roles.member.1".
            (key.split(separator: ".").contains(where: { names(String($0)) }) && value != .null) || isRoleARN(value)
        }
    }

    /// A call that writes a resource policy (who else may use the resource): a member, at
    /// any depth, named as a policy document — `Policy`, `PolicyDocument`, `AccessPolicies`,
    /// SQS and SNS attributes' `Policy` entries (a map key, or a query form's
    /// `Attributes.entry.N.key=Policy`) — in a call that is not a read.
    public var setsPolicy: Bool {
        let policyNames: Set<String> = ["policy", "policydocument", "policytext", "resourcepolicy", "accesspolicies", "accesspolicy",
                                        "keypolicy", "bucketpolicy", "queuepolicy", "topicpolicy", "trustpolicy", "assumerolepolicydocument",
                                        "policyinjson"]
        // Who else may use it, named as a principal or an account to share with
        // (serverlessrepo's Statements[].Principals, appstream's SharedAccountId, RAM's principals).
        let grantees: Set<String> = ["principal", "principals", "sharedaccountid", "sharedaccountids", "accountids", "targetaccountid",
                                     "targetaccountids", "grantee", "granteeprincipal", "sharewith", "sharedwith"]
        guard access != "List" && access != "Read" else { return false }
        return Self.any(params) { key, value in
            let last = key.split(separator: ".").last.map { $0.lowercased() } ?? ""
            if value != .null, policyNames.contains(last) || grantees.contains(last) { return true }
            // A policy document by any name ending so (deliveryDestinationPolicy).
            if value != .null, last.hasSuffix("policy") || last.hasSuffix("policydocument"), value.string?.contains("Statement") == true
                || value.object?["Statement"] != nil { return true }
            return key.lowercased().hasSuffix(".key") && policyNames.contains((value.string ?? "").lowercased())
        }
    }

    /// Whether `test` holds for some member, at any depth, of `o` (its name and value).
    static func any(_ o: [String: JSON], _ test: (String, JSON) -> Bool) -> Bool {
        for (k, v) in o {
            if test(k, v) { return true }
            if let inner = v.object, any(inner, test) { return true }
            for item in v.array ?? [] {
                if test(k, item) { return true }
                if let inner = item.object, any(inner, test) { return true }
            }
        }
        return false
    }

    static func text(_ v: JSON) -> String {
        switch v {
        case .string(let s): return s
        case .bool(let b): return b ? "true" : "false"
        default: return v.encodedString
        }
    }

    static func number(_ v: JSON) -> Double? {
        switch v {
        case .int(let i): return Double(i)
        case .double(let d): return d
        case .string(let t): return Double(t)
        default: return nil
        }
    }

    /// A parameter by name, `a.b` for a member of a member; a query protocol's flattened
    /// name (`Filter.1.Name`) is found as given.
    func param(_ path: String) -> JSON? {
        if let v = params[path] { return v }
        var v: JSON? = .object(params)
        for part in path.split(separator: ".") { v = v?[String(part)] }
        return v
    }

    /// The parameters a rule's name glob covers, present ones only. A plain name in any
    /// case too (`Prefix` is S3's `prefix` in a URL): a service that reads names loosely
    /// is not a way around a rule.
    func params(matching glob: String) -> [JSON] {
        if !glob.contains("*") && !glob.contains("?") {
            let loose = params.filter { $0.key != glob && $0.key.lowercased() == glob.lowercased() }.map(\.value)
            return (param(glob).map { [$0] } ?? []) + loose
        }
        return params.filter { Glob.matches(glob, $0.key) }.map(\.value)
    }
}

extension Rule {
    mutating func readCallConditions(_ m: JSON) throws {
        func strings(_ key: String) throws -> [String]? {
            guard let v = m[key] else { return nil }
            let list = v.string.map { [$0] } ?? (v.array ?? []).compactMap(\.string)
            guard !list.isEmpty else { throw ConfigError("approval rule \"\(name)\": \"\(key)\" must be a string or a list of strings") }
            return list
        }
        actions = try strings("actions")
        exceptActions = try strings("except_actions")
        if let a = try strings("access") {
            let levels: Set<String> = ["list", "read", "write", "tagging", "permissions management", "unknown"]
            accessLevels = Set(a.map { $0.lowercased() })
            if let bad = accessLevels?.first(where: { !levels.contains($0) }) {
                throw ConfigError("approval rule \"\(name)\": unknown access level \"\(bad)\" (List, Read, Write, Tagging, Permissions management, unknown)")
            }
        }
        if let r = m["resources"] {
            let list = r.array ?? [r]
            resources = try list.enumerated().map { i, j in
                do { return try ResourceSelector(j, what: "approval rule \"\(name)\": resources[\(i)]") }
                catch let e as SelectorError { throw ConfigError(e.description) }
            }
        }
        if let p = m["params"] {
            guard let o = p.object else { throw ConfigError("approval rule \"\(name)\": \"params\" must be an object") }
            params = try o.keys.sorted().map { k in (k, try ParamTest(o[k]!, rule: name, param: k)) }
        }
        func flag(_ key: String) throws -> Bool? {
            guard let v = m[key] else { return nil }
            guard let b = v.bool else { throw ConfigError("approval rule \"\(name)\": \"\(key)\" must be true or false") }
            return b
        }
        passesRole = try flag("passes_role")
        setsPolicy = try flag("sets_policy")
        revealsSecrets = try flag("reveals_secrets")
        answersImage = try flag("answers_image")
    }

    /// The values of a list of strings, numbers or booleans (nil for anything else).
    static func scalars(_ v: JSON) -> [JSON]? {
        guard case .array(let a) = v, !a.isEmpty, a.allSatisfy({ $0.object == nil && $0.array == nil }) else { return nil }
        return a
    }

    /// Whether every condition holds for this call, asked by this identity, now.
    func matches(_ c: CallFacts, _ who: Requester, phiResources: [ResourceSelector], at time: DateComponents) -> Bool {
        if let actions, !actions.contains(where: { Glob.matches($0, c.iamAction) || Glob.matches($0, c.serviceOperation) }) { return false }
        if let exceptActions, exceptActions.contains(where: { Glob.matches($0, c.iamAction) || Glob.matches($0, c.serviceOperation) }) {
            return false
        }
        if let accessLevels, !accessLevels.contains(c.access.isEmpty ? "unknown" : c.access.lowercased()) { return false }
        if let resources, !resources.contains(where: { $0.matches(c.resources) }) { return false }
        if let phi, phiResources.contains(where: { $0.matches(c.resources) }) != phi { return false }
        if let params {
            for (name, test) in params {
                let values = c.params(matching: name)
                // `null`: none of them present, by the name as written (a name in another case
                // the service may ignore: `limit` is no Limit to DynamoDB); otherwise one of
                // them holds.
                if case .absent = test {
                    let exact = name.contains("*") || name.contains("?") ? values : c.param(name).map { [$0] } ?? []
                    if !exact.allSatisfy({ test.holds($0) }) { return false }
                    continue
                }
                // A name given more than once (a REST query name repeated, a list of scalars):
                // each value is judged, as the service may read any of them. A rule that
                // allows must hold for every one; one that holds back or denies, for any one.
                if action == .allow {
                    if values.isEmpty || !values.allSatisfy({ v in Self.scalars(v).map { $0.allSatisfy(test.holds) } ?? test.holds(v) }) {
                        return false
                    }
                } else if !values.contains(where: { v in test.holds(v) || Self.scalars(v)?.contains(where: test.holds) == true }) {
                    return false
                }
            }
        }
        if let passesRole, c.passesRole != passesRole { return false }
        if let setsPolicy, c.setsPolicy != setsPolicy { return false }
        if let revealsSecrets, c.revealsSecrets != revealsSecrets { return false }
        if let answersImage, c.answersImage != answersImage { return false }
        return matchesIdentityAndTime(who, at: time)
    }
}

extension Policy {
    /// The rules an API connection gets when its configuration names none: the defaults
    /// for an account that holds PHI (docs/approval.md, "Rules for API calls"). The first
    /// that matches decides; a call no rule matches is denied.
    public static let defaultCallRules: JSON = .array([
        callRule("no-permissions-management", "deny", ["access": ["Permissions management"]],
                 "changes permissions (IAM policies, keys, roles, resource policies, ACLs, grants): not allowed through the gateway"),
        callRule("no-pass-role", "deny", ["passes_role": true],
                 "hands a role to a service (iam:PassRole): not allowed through the gateway"),
        callRule("no-resource-policies", "deny", ["sets_policy": true],
                 "writes a resource policy (who else may use the resource): not allowed through the gateway"),
        // S3 writes whose headers grant access or bypass a lock need more than s3:PutObject
        // in IAM (s3:PutObjectAcl, s3:BypassGovernanceRetention): judged as those.
        callRule("no-public-acl", "deny", ["params": ["ACL": "public-*"]], "makes a resource public (a canned ACL)"),
        callRule("no-authenticated-acl", "deny", ["params": ["ACL": "authenticated-read"]], "opens a resource to every AWS account (a canned ACL)"),
        callRule("no-acl-grants", "deny", ["params": ["Grant*": true]], "grants access to other accounts (ACL grants)"),
        callRule("no-lock-bypass", "deny", ["params": ["BypassGovernanceRetention": "true"]], "bypasses an object lock's retention"),
        callRule("no-secret-answers", "deny", ["reveals_secrets": true],
                 "its answer carries credentials or secrets (keys, tokens, passwords, private keys, user data, environment variables)"),
        callRule("no-privilege-escalation", "deny", ["actions": ["iam:*", "sts:*", "sso:*", "identitystore:*", "organizations:*",
                                                                  "cognito-idp:Admin*"],
                                                      "access": ["Write", "Tagging", "unknown"]],
                 "changes identities, their credentials or the organisation: not allowed through the gateway"),
        callRule("no-resource-exposure", "deny", ["actions": [
            "s3:PutBucketPolicy", "s3:DeleteBucketPolicy", "s3:PutBucketAcl", "s3:PutObjectAcl", "s3:PutBucketPublicAccessBlock",
            "s3:PutAccountPublicAccessBlock", "s3:PutBucketOwnershipControls", "s3:PutAccessPointPolicy",
            "ec2:ModifySnapshotAttribute", "ec2:ModifyImageAttribute", "ec2:ModifyFpgaImageAttribute", "ebs:*Attribute",
            "rds:ModifyDBSnapshotAttribute", "rds:ModifyDBClusterSnapshotAttribute",
            "lambda:AddPermission", "lambda:AddLayerVersionPermission", "lambda:CreateFunctionUrlConfig", "lambda:UpdateFunctionUrlConfig",
            "kms:PutKeyPolicy", "kms:CreateGrant", "secretsmanager:PutResourcePolicy", "ecr:SetRepositoryPolicy",
            "sns:AddPermission", "sqs:AddPermission", "glacier:SetVaultAccessPolicy", "backup:PutBackupVaultAccessPolicy"]],
                 "exposes a resource beyond the account (policies, ACLs, public access, sharing)"),
        callRule("no-credential-exposure", "deny", ["actions": [
            "secretsmanager:GetSecretValue", "secretsmanager:BatchGetSecretValue", "ec2:GetPasswordData", "sts:GetSessionToken",
            "sts:GetFederationToken", "ecr:GetAuthorizationToken", "redshift:GetClusterCredentials*", "codeartifact:GetAuthorizationToken",
            "redshift-serverless:GetCredentials", "redshift:GetIdentityCenterAuthToken", "connect:GetFederationToken",
            "glue:GetConnection", "glue:GetConnections", "ec2:DescribeInstanceAttribute",
            // Presigned URLs signed with the gateway's own keys, fetched outside the gateway,
            // where the model does not say so: a layer's `Content.Location` ("valid for 10
            // minutes"), Beanstalk's `Message` ("contains a presigned Amazon S3 URL"). Those it
            // says (a member named or documented as a presigned URL: lambda:GetFunction,
            // ecr:GetDownloadUrlForLayer, snowball:GetJobManifest, …) are reveals_secrets.
            "lambda:GetLayerVersion", "elasticbeanstalk:RetrieveEnvironmentInfo",
            // The key or token itself under a name no model marks: an AppSync API key's id is
            // the key; WorkMail's impersonation token acts as any mailbox.
            "appsync:ListApiKeys", "appsync:CreateApiKey", "appsync:UpdateApiKey", "workmail:AssumeImpersonationRole"]],
                 "reveals credentials or secrets"),
        // Parameter Store hands out every Secrets Manager secret under this path, as a
        // parameter's Value: the secret GetSecretValue is denied, whatever WithDecryption says.
        callRule("no-secret-references", "deny", ["actions": ["ssm:GetParameter", "ssm:GetParameters", "ssm:GetParametersByPath",
                                                                "ssm:GetParameterHistory"],
                                                    "params": ["Name*": "*/aws/reference/secretsmanager*"]],
                 "reads a Secrets Manager secret through Parameter Store (/aws/reference/secretsmanager/)"),
        callRule("no-secret-reference-paths", "deny", ["actions": ["ssm:GetParametersByPath"],
                                                         "params": ["Path": "*/aws/reference*"]],
                 "reads Secrets Manager secrets through Parameter Store (/aws/reference/)"),
        callRule("no-decrypted-parameters", "deny", ["actions": ["ssm:GetParameter", "ssm:GetParameters", "ssm:GetParametersByPath",
                                                                  "ssm:GetParameterHistory"],
                                                      "params": ["WithDecryption": "true"]],
                 "reveals decrypted parameters"),
        callRule("no-audit-weakening", "deny", ["actions": [
            "cloudtrail:StopLogging", "cloudtrail:DeleteTrail", "cloudtrail:UpdateTrail", "cloudtrail:PutEventSelectors",
            "cloudtrail:DeleteEventDataStore", "logs:DeleteLogGroup", "logs:DeleteLogStream", "logs:PutRetentionPolicy",
            "logs:DeleteSubscriptionFilter", "logs:DeleteDataProtectionPolicy", "kms:DisableKey", "kms:ScheduleKeyDeletion",
            "kms:DisableKeyRotation", "guardduty:Delete*", "guardduty:Disassociate*", "guardduty:UpdateDetector",
            "guardduty:StopMonitoringMembers", "config:StopConfigurationRecorder", "config:DeleteConfigurationRecorder",
            "config:DeleteDeliveryChannel", "securityhub:Disable*", "access-analyzer:DeleteAnalyzer", "ec2:DeleteFlowLogs",
            "s3:PutBucketLogging", "macie2:Disable*", "inspector2:Disable", "logs:Delete*", "logs:DisassociateKmsKey",
            "logs:PutDataProtectionPolicy", "logs:PutAccountPolicy", "logs:DeleteAccountPolicy", "cloudwatch:Disable*",
            "cloudwatch:Delete*", "cloudwatch:SetAlarmState", "cloudwatch:PutAlarmMuteRule", "events:DisableRule", "events:DeleteRule",
            "events:RemoveTargets", "logs:PutSubscriptionFilter", "logs:PutTransformer", "logs:PutLogGroupDeletionProtection",
            "kms:DeleteImportedKeyMaterial", "kms:DisconnectCustomKeyStore", "kms:DeleteCustomKeyStore"]],
                 "weakens the audit (trails, logs, keys, detectors, recorders)"),
        // The services that watch the account: any change of theirs (a GuardDuty filter that
        // archives every finding, Security Hub standards disabled in a batch) may blind them.
        callRule("no-security-service-changes", "deny", ["actions": [
            "cloudtrail:*", "cloudtrail-data:*", "config:*", "guardduty:*", "securityhub:*", "access-analyzer:*", "macie2:*",
            "inspector2:*", "detective:*", "securitylake:*"],
                                                       "except_actions": ["cloudtrail:StartQuery", "cloudtrail:CancelQuery",
                                                                          "cloudtrail:GenerateQuery"],
                                                       "access": ["Write", "Tagging", "unknown"]],
                 "changes a service that watches the account (trails, recorders, detectors, findings): not allowed through the gateway"),
        // Answers that are images (a screen capture, a video frame, a face, a scan): bytes
        // hoop-mask cannot read pass unmasked, so a person decides. The operations whose
        // model has such a member (scripts/aws-tables' `answers_image`, carried by the door).
        // Reads only: a write is held anyway, and an operation of no known level stays denied.
        callRule("review-image-answers", "review", ["answers_image": true, "access": ["Read", "List"]],
                 "its answer is an image (a screen capture, a video frame, a photo, a scan) that hoop-mask cannot read"),
        callRule("review-bulk-export", "review", ["actions": [
            "dynamodb:ExportTableToPointInTime", "dynamodb:CreateBackup", "dynamodb:ImportTable", "rds:CreateDBSnapshot",
            "rds:CreateDBClusterSnapshot", "rds:StartExportTask", "rds:CopyDB*Snapshot", "ec2:CreateSnapshot", "ec2:CreateSnapshots",
            "ec2:CreateImage", "ec2:CopySnapshot", "ec2:CopyImage", "ec2:CreateStoreImageTask", "logs:CreateExportTask",
            "s3:CreateJob", "s3:PutReplicationConfiguration", "s3:PutBucketInventoryConfiguration", "athena:StartQueryExecution",
            "backup:StartBackupJob", "backup:StartCopyJob"]],
                 "exports data in bulk"),
        callRule("review-phi-copy", "review", ["actions": ["s3:CopyObject", "s3:UploadPartCopy"], "phi": true],
                 "copies an object of a PHI bucket"),
        callRule("review-phi-bulk-read", "review", ["actions": bulkReads, "phi": true, "params": ["Limit": NSNull()]],
                 "reads a PHI table without a Limit (a scan, or a PartiQL statement)"),
        // A Limit a service may read as none (-1 and 0 on the stand-in) is no bound.
        callRule("review-phi-large-read", "review", ["actions": bulkReads, "phi": true, "params": ["Limit": ["outside": [1, 1000]]]],
                 "reads a PHI table more than 1000 items at a time (or with a Limit that is not a number from 1 to 1000)"),
        // A filter on a PHI table or log group is an oracle on the values masking hides: a
        // count of the items whose SSN begins with 385 needs no SSN in the answer.
        callRule("review-phi-filter", "review", ["actions": ["dynamodb:Scan", "dynamodb:Query"], "phi": true,
                                                 "params": ["*Filter*": true]],
                 "filters a PHI table (a filter answers questions about the values masking hides)"),
        // So is a Query's key condition on a sort key other than equality: `begins_with(
        // date_of_birth, :p)` with Select COUNT walks a birth date out one character a call
        // (the legacy KeyConditions alike, whatever its operators).
        callRule("review-phi-key-range", "review", ["actions": ["dynamodb:Query"], "phi": true,
                                                    "params": ["KeyConditionExpression": ["*begins_with*", "*between*", "*<*", "*>*"]]],
                 "reads a PHI table by a range or prefix of a key (a filter on the values masking hides)"),
        // A Query's ExclusiveStartKey is a sort key given: DynamoDB answers the items after
        // it, in the sort key's order, so guessed keys walk a masked sort key out (a binary
        // search). Paging a PHI table's Query from its second page is held with it.
        callRule("review-phi-key-start-after", "review", ["actions": ["dynamodb:Query"], "phi": true,
                                                          "params": ["ExclusiveStartKey": true]],
                 "reads a PHI table from a key given (an oracle on the values masking hides)"),
        callRule("review-phi-key-conditions", "review", ["actions": ["dynamodb:Query"], "phi": true,
                                                         "params": ["KeyConditions": true]],
                 "reads a PHI table by key conditions (a filter on the values masking hides)"),
        // And a listing of a PHI bucket by part of a key name: `Prefix` that does not end
        // a folder, or where to start (a binary search): the key names masking hides in a
        // listing (`scans/LAST_FIRST_1984-03-09.pdf`) come back one character a call. A
        // folder's prefix (`scans/`) is how a bucket is browsed: it stays a listing.
        callRule("review-phi-key-prefix", "review", ["actions": phiListings, "phi": true, "params": ["Prefix": "!*/"]],
                 "lists a PHI bucket by part of a key name (an oracle on the names masking hides)"),
        // A delimiter other than `/` cuts every key at a guessed text: the same oracle.
        callRule("review-phi-key-delimiter", "review", ["actions": phiListings, "phi": true, "params": ["Delimiter": "!/"]],
                 "lists a PHI bucket cut at a text given (an oracle on the names masking hides)"),
        callRule("review-phi-key-start", "review", ["actions": phiListings, "phi": true, "params": ["start*after": true]],
                 "lists a PHI bucket from a key name given (an oracle on the names masking hides)"),
        callRule("review-phi-key-marker", "review", ["actions": phiListings, "phi": true, "params": ["*Marker": true]],
                 "lists a PHI bucket from a key name given (an oracle on the names masking hides)"),
        callRule("review-phi-stream-prefix", "review", ["actions": ["logs:DescribeLogStreams", "logs:FilterLogEvents"], "phi": true,
                                                        "params": ["logStreamNamePrefix": true]],
                 "lists a PHI log group's streams by part of a name (an oracle on the names masking hides)"),
        // S3 Select runs SQL with a WHERE over an object; its expression travels in an XML
        // body the rules do not read: any Select of a PHI bucket is held.
        callRule("review-phi-select", "review", ["actions": ["s3:SelectObjectContent"], "phi": true],
                 "queries an object of a PHI bucket with S3 Select (a WHERE answers questions about the values masking hides)"),
        callRule("review-phi-partiql-filter", "review", ["actions": ["dynamodb:ExecuteStatement"], "phi": true,
                                                         "params": ["Statement": "*where*"]],
                 "filters a PHI table in PartiQL (a WHERE answers questions about the values masking hides)"),
        callRule("review-phi-log-filter", "review", ["actions": ["logs:FilterLogEvents"], "phi": true,
                                                     "params": ["filterPattern": true]],
                 "filters a PHI log group by a pattern"),
        callRule("review-destructive", "review", ["actions": [
            "*:Delete*", "*:Terminate*", "*:Remove*", "*:Purge*", "dynamodb:UpdateTable", "dynamodb:UpdateTimeToLive",
            "rds:ModifyDB*", "rds:Stop*", "rds:Reboot*", "ec2:StopInstances", "ec2:ModifyInstanceAttribute", "s3:PutLifecycleConfiguration",
            "s3:PutBucketLifecycle*", "s3:PutBucketVersioning"]],
                 "deletes or changes the shape of a resource"),
        callRule("review-compute", "review", ["actions": [
            "ec2:RunInstances", "ec2:StartInstances", "ec2:RequestSpotInstances", "ec2:CreateFleet", "lambda:CreateFunction",
            "lambda:UpdateFunctionCode", "lambda:UpdateFunctionConfiguration", "lambda:PublishVersion", "lambda:InvokeFunction",
            "ecs:ExecuteCommand", "ecs:RunTask", "ecs:StartTask", "ecs:UpdateService", "ecs:RegisterTaskDefinition",
            "ssm:SendCommand", "ssm:StartSession", "ssm:StartAutomationExecution", "batch:SubmitJob", "glue:StartJobRun",
            "states:StartExecution", "codebuild:StartBuild", "sagemaker:Create*Job"]],
                 "launches compute or changes code"),
        callRule("review-tagging", "review", ["access": ["Tagging"]],
                 "changes tags (tags decide tag-based access)"),
        callRule("review-writes", "review", ["access": ["Write"]], "writes"),
        callRule("allow-partiql-select", "allow", ["actions": ["dynamodb:PartiQLSelect"], "access": ["Read"]],
                 "reads with PartiQL (answers masked)"),
        // Reads by IAM's level that act: start jobs and queries, take messages off a queue,
        // make instances upload logs, copy or export.
        callRule("review-acting-reads", "review", ["actions": [
            "*:Start*", "*:Request*", "*:Receive*", "*:Send*", "*:Run*", "*:Invoke*", "*:Execute*", "*:Create*", "*:Put*",
            "*:Update*", "*:Delete*", "*:Stop*", "*:Cancel*", "*:Reset*", "*:Restore*", "*:Export*", "*:Import*", "*:Copy*",
            "*:Modify*", "*:Set*", "*:Enable*", "*:Disable*", "*:Attach*", "*:Detach*", "*:Associate*", "*:Disassociate*"],
                                                     "access": ["Read", "List"]],
                 "a read that acts (starts, sends, receives, copies or exports)"),
        // IAM's level says Read of calls that test, chat, deliver or otherwise act
        // (dms:TestConnection connected out; iot:TestInvokeAuthorizer ran an authorizer):
        // a read passes at once only when its name is a reading verb.
        callRule("review-reads-that-may-act", "review", ["access": ["Read", "List"], "except_actions": readingVerbs],
                 "a read whose name is no reading verb (it may act: test, chat, deliver, …)"),
        callRule("allow-list", "allow", ["access": ["List"]], "lists"),
        callRule("allow-read", "allow", ["access": ["Read"]], "reads (answers masked)"),
    ])

    /// Operation names that only read: Get, List, Describe and their kin (also of a batch,
    /// and an administrator's: BatchGet, AdminList).
    static let readingVerbs = ["Get", "List", "Describe", "Head", "Lookup", "Search", "Query", "Scan", "Filter", "View", "Read",
                               "Preview", "Estimate", "Validate", "Simulate", "Count", "Download", "Verify", "Retrieve", "Select",
                               "Fetch", "Check", "Discover", "Evaluate", "Decode", "Is", "Resolve"]
        .flatMap { verb in ["", "Batch", "Admin"].map { "*:" + $0 + verb + "*" } }

    /// Reads that may take a whole table: scans and PartiQL statements (a SELECT's IAM
    /// action is `dynamodb:PartiQLSelect`; its operation `dynamodb:ExecuteStatement`).
    /// Listings of a bucket's keys (ListObjects, ListObjectsV2, ListObjectVersions,
    /// ListMultipartUploads), by IAM action.
    static let phiListings = ["s3:ListBucket", "s3:ListBucketVersions", "s3:ListBucketMultipartUploads"]
    static let bulkReads = ["dynamodb:Scan", "dynamodb:ExecuteStatement", "dynamodb:BatchExecuteStatement", "dynamodb:ExecuteTransaction"]

    private static func callRule(_ name: String, _ action: String, _ match: [String: Any], _ message: String) -> JSON {
        func json(_ v: Any) -> JSON {
            switch v {
            case let b as Bool: return .bool(b)
            case let s as String: return .string(s)
            case let n as Int: return .int(Int64(n))
            case is NSNull: return .null
            case let l as [String]: return .array(l.map(JSON.string))
            case let l as [Any]: return .array(l.map(json))
            case let o as [String: Any]: return .object(o.mapValues(json))
            default: return .null
            }
        }
        return .object(["name": .string(name), "action": .string(action), "match": json(match), "message": .string(message)])
    }

    /// The verdict on one API call: the first rule that matches; none, denied. A call whose
    /// access level is unknown is allowed only by a rule that names its action.
    public func verdict(call c: CallFacts, _ who: Requester, at date: Date = Date()) -> Verdict {
        let time = clock(date)
        func verdict(_ action: Action, _ rule: String, _ message: String, _ r: Rule?) -> Verdict {
            Verdict(action: action, reasons: [StatementVerdict(action: action, rule: rule, message: message, statement: nil)],
                    approvalsRequired: max(approvalsRequired, r?.approvals ?? 1, r?.approverGroups == nil ? 0 : 1),
                    approverSets: r?.approverGroups.map { [$0] } ?? [],
                    requireJustification: r?.requireJustification ?? false, parseError: nil)
        }
        for rule in rules where rule.matches(c, who, phiResources: phiResources, at: time) {
            if rule.action == .allow && c.access.isEmpty && rule.actions == nil {
                return verdict(.deny, "unknown-access", "\(c.iamAction.isEmpty ? c.serviceOperation : c.iamAction) has no known access level", nil)
            }
            return verdict(rule.action, rule.name, rule.describes, rule)
        }
        return verdict(.deny, "no-rule", "no rule allows \(c.iamAction.isEmpty ? c.serviceOperation : c.iamAction)", nil)
    }
}

/// What an approval of a call is for, and what an approver reads.
public enum CallFingerprint {
    /// Per-attempt headers and the body's length (the body's digest covers it) are not
    /// what the call does: a retry or a repeat differs there.
    static let unfingerprinted: Set<String> = ["content-length", "amz-sdk-invocation-id", "amz-sdk-request", "x-amz-user-agent", "user-agent"]

    /// Everything that runs upstream — the operation, its parameters, the method, path,
    /// query, signed headers and the body's SHA-256 — less the pagination tokens, so that
    /// an approval of a listing covers its pages.
    public static func of(_ f: JSON) -> String {
        let facts = CallFacts(f)
        let left = facts.paging.union(facts.idempotency)
        var params = facts.params
        for p in left { params.removeValue(forKey: p) }
        let query = (f["query"]?.string ?? "").split(separator: "&").filter { pair in
            let name = pair.split(separator: "=", maxSplits: 1).first.map(String.init) ?? ""
            return !left.contains(percentDecoded(name))
        }.joined(separator: "&")
        var headers = f["headers"]?.object ?? [:]
        for h in unfingerprinted { headers.removeValue(forKey: h) }
        let body: String
        if f["body_streamed"]?.bool == true {
            body = "streamed, \(f["decoded_length"]?.int ?? -1) bytes (not in hand when judged)"
        } else {
            var text = f["body"]?.string ?? f["body_base64"]?.string ?? ""
            // A JSON body that carries a page's token: its members less the token, in one order.
            if !left.isEmpty, let doc = try? JSON.parse(text), case .object(var o) = doc {
                for p in left { o.removeValue(forKey: p) }
                text = JSON.object(o).encodedString
            } else if !left.isEmpty, (headers["content-type"]?.string ?? "").contains("x-www-form-urlencoded") {
                text = text.split(separator: "&").filter { pair in
                    !left.contains(percentDecoded(pair.split(separator: "=", maxSplits: 1).first.map(String.init) ?? ""))
                }.joined(separator: "&")
            }
            body = "sha256:" + SHA256.hash(data: Array(text.utf8)).map { String(format: "%02x", $0) }.joined()
        }
        let whole = "\(facts.iamAction) \(facts.serviceOperation) in \(facts.region) " + JSON.object(params).encodedString
            + "\n\(f["method"]?.string ?? "") \(f["path"]?.string ?? "")?\(query) headers " + JSON.object(headers).encodedString
            + " body " + body
        return SHA256.hash(data: Array(whole.utf8)).map { String(format: "%02x", $0) }.joined()
    }

    /// What an approver reads in `hoop-approve show`, ending with the fingerprint (the
    /// text a ticket is matched by): the operation, what it acts on, its parameters one by
    /// one (long values cut), the HTTP request.
    public static func readable(_ f: JSON) -> String {
        let facts = CallFacts(f)
        let left = facts.paging.union(facts.idempotency)
        var lines = ["\(facts.serviceOperation) (IAM \(facts.iamAction.isEmpty ? "unknown" : facts.iamAction), "
                     + "\(facts.access.isEmpty ? "unknown access level" : facts.access)) on \(f["target"]?.string ?? facts.service)"
                     + " in \(facts.region.isEmpty ? "?" : facts.region)"]
        // Everything the fingerprint covers is shown, in full: what is approved is what is read.
        for k in facts.params.keys.sorted() where !left.contains(k) {
            lines.append("  \(k): \(CallFacts.text(facts.params[k]!))")
        }
        if !left.isEmpty { lines.append("  (left out, any value: \(left.sorted().joined(separator: ", ")))") }
        lines.append("request: \(f["method"]?.string ?? "") \(f["path"]?.string ?? "")"
                     + ((f["query"]?.string).map { $0.isEmpty ? "" : "?" + $0 } ?? ""))
        for (name, value) in (f["headers"]?.object ?? [:]).sorted(by: { $0.key < $1.key }) where !unfingerprinted.contains(name) {
            lines.append("  \(name): \(CallFacts.text(value))")
        }
        // A body the parameters do not already show (XML documents, text); bytes by digest.
        let proto = f["protocol"]?.string ?? ""
        if f["body_streamed"]?.bool == true {
            lines.append("body: streamed, \(f["decoded_length"]?.int ?? -1) bytes")
        } else if proto != "json" && proto != "rest-json" && proto != "query" && proto != "ec2" {
            if let text = f["body"]?.string, !text.isEmpty {
                lines.append(text.utf8.count <= 1 << 20 ? "body:\n\(text)" : "body: \(text.utf8.count) bytes of text")
            } else if let b = f["body_base64"]?.string {
                lines.append("body: bytes (\(b.count * 3 / 4) bytes, base64)")
            }
        }
        lines.append("fingerprint: sha256:\(of(f))")
        return lines.joined(separator: "\n")
    }

    /// One line for `hoop-approve list`.
    public static func summary(_ f: JSON) -> String {
        let facts = CallFacts(f)
        return "\(facts.serviceOperation) on \(f["target"]?.string ?? facts.service)"
    }
}

/// A query's or a form's name as the service reads it.
private func percentDecoded(_ s: String) -> String { s.removingPercentEncoding ?? s }
