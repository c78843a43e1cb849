import Foundation

/// RDS and Aurora IAM database authentication tokens (docs/aws.md, "PostgreSQL on RDS
/// without a password"): the presigned SigV4 URL
/// `https://HOST:PORT/?Action=connect&DBUser=USER&X-Amz-…` for the service `rds-db`,
/// without its `https://`, given to the database as the password. It is what botocore's
/// `generate_db_auth_token` makes, byte for byte (Tests/HoopAWSTests/RDSAuthTokenTests.swift,
/// integration/test_rds_iam.py), and is signed by SigV4.presignedQuery.
public enum RDSAuthToken {
    /// RDS accepts a token for 15 minutes after its X-Amz-Date.
    public static let lifetimeSeconds = 900

    public static func make(host: String, port: Int, user: String, region: String,
                            credentials: AWSCredentials, at date: Date) -> String {
        // The Host header as an HTTP client sends it for https://HOST:PORT, which is what
        // botocore signs: the name lower-cased, the port left out when it is https's own.
        let hostHeader = host.lowercased() + (port == 443 ? "" : ":\(port)")
        let request = SigV4.Request(method: "GET", path: "/", query: "Action=connect&DBUser=" + SigV4.uriEncode(user, keepSlash: false),
                                    headers: [("host", hostHeader)], body: [])
        let query = SigV4.presignedQuery(request, accessKey: credentials.accessKeyId, secret: credentials.secretAccessKey,
                                         sessionToken: credentials.sessionToken, region: region, service: "rds-db",
                                         date: date, expires: lifetimeSeconds)
        return "\(host):\(port)/?\(query)"
    }
}

/// Tokens for one database endpoint and user, made when a connection is about to be
/// opened. A token is never kept: each upstream connection (a session's, the catalog's)
/// gets one dated by the clock at that moment, so none that libpq sends is older than the
/// connection attempt, far inside its 15 minutes, whatever the session's age. The
/// credentials are read again for each token, so that keys rotated in their files
/// (temporary ones above all) are used without a restart.
public struct RDSAuthTokenSource: Sendable {
    public let host: String
    public let port: Int
    public let user: String
    public let region: String
    let credentials: @Sendable () throws -> AWSCredentials
    let clock: @Sendable () -> Date

    public init(host: String, port: Int, user: String, region: String,
                credentials: @escaping @Sendable () throws -> AWSCredentials,
                clock: @escaping @Sendable () -> Date = { Date() }) {
        self.host = host; self.port = port; self.user = user; self.region = region
        self.credentials = credentials; self.clock = clock
    }

    /// A token dated now.
    public func token() throws -> String {
        RDSAuthToken.make(host: host, port: port, user: user, region: region, credentials: try credentials(), at: clock())
    }
}
