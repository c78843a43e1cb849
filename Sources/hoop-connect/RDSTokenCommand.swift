import ArgumentParser
import Foundation
import HoopAWS

/// `hoop-connect rds-token` (hidden): prints the RDS IAM token hoop-connect would make
/// for these inputs, with the keys of AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and
/// AWS_SESSION_TOKEN (optional), dated `--at`. It exists so that integration/test_rds_iam.py
/// can compare hoop's tokens with botocore's; the ring never runs it.
struct RDSTokenCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "rds-token",
        abstract: "Print an RDS IAM authentication token (for tests).", shouldDisplay: false)

    @Option var host: String
    @Option var port: Int = 5432
    @Option var user: String
    @Option var region: String
    @Option(help: "The token's date, in seconds since 1970 (default: now).")
    var at: Double?

    func run() throws {
        let env = ProcessInfo.processInfo.environment
        guard let akid = env["AWS_ACCESS_KEY_ID"], let secret = env["AWS_SECRET_ACCESS_KEY"] else {
            throw ValidationError("AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY must be set")
        }
        let keys = AWSCredentials(accessKeyId: akid, secretAccessKey: secret, sessionToken: env["AWS_SESSION_TOKEN"])
        print(RDSAuthToken.make(host: host, port: port, user: user, region: region, credentials: keys,
                                at: at.map { Date(timeIntervalSince1970: $0) } ?? Date()))
    }
}
