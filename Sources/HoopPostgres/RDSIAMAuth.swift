import CLibPQ
import Foundation
import HoopAWS
import HoopFrames
import HoopJSON

/// `connections.NAME.aws_auth` and `connections.NAME.catalog.aws_auth` (docs/aws.md,
/// "PostgreSQL on RDS without a password"): the database password is an RDS IAM
/// authentication token, made from the keys of an `aws` connection for each connection
/// to the database (hoop-connect's sessions and catalog reads, hoop-approve's catalog
/// role), so that no database password is held by the gateway's configuration or known
/// to any client.
public struct RDSIAMAuth: Sendable {
    /// What the token is for, and what libpq is told to connect to: the same host, port
    /// and user, so that a default from libpq's environment (PGPORT, PGUSER) cannot make
    /// it connect somewhere the token does not name.
    public let tokens: RDSAuthTokenSource
    /// The aws connection whose keys sign the tokens (for messages).
    public let awsConnection: String

    static let tlsModes: Set<String> = ["require", "verify-ca", "verify-full"]

    /// libpq keywords that override the conninfo's, then the password: a token dated now.
    public func keywords() throws -> [(String, String)] {
        [("host", tokens.host), ("port", String(tokens.port)), ("user", tokens.user), ("password", try tokens.token())]
    }

    /// Reads and checks `aws_auth` of the postgres connection (or catalog section) `c`,
    /// named `name` in messages; `tls`: libpq TLS keywords that override the conninfo's.
    /// Every mistake is a configuration error that names the setting (and no secret).
    public static func configure(_ spec: JSON, name: String, connection c: JSON, tls: [(String, String)],
                          cfg: GatewayConfig) throws -> RDSIAMAuth {
        func fail(_ why: String) -> ConfigError { ConfigError("connection \(name): \(why)") }
        guard let settings = spec.object else { throw fail("aws_auth must be an object: {\"connection\": AWS_CONNECTION, \"region\", \"user\"}") }
        // A misspelt key would quietly sign for the wrong region or user: refused.
        if let unknown = settings.keys.sorted().first(where: { !["connection", "region", "user"].contains($0) }) {
            throw fail("aws_auth.\(unknown) is not a setting (connection, region, user)")
        }
        if c["password"] != nil {
            throw fail("\"password\" and \"aws_auth\" are both given: an IAM token is the password, remove \"password\"")
        }
        let conninfo = try Self.parse(c["conninfo"]?.string ?? "", name: name)
        if conninfo["password"] != nil {
            throw fail("conninfo holds a password, and aws_auth makes the password: remove it from conninfo")
        }
        // The token is a bearer credential for 15 minutes: it travels only inside TLS, and
        // only to a server that must hold a certificate (tls.sslmode wins over the conninfo's).
        let sslmode = tls.last(where: { $0.0 == "sslmode" })?.1 ?? conninfo["sslmode"]
        guard let sslmode, tlsModes.contains(sslmode) else {
            throw fail("aws_auth sends an IAM token as the password, which needs TLS: set tls.sslmode to require, "
                       + "verify-ca or verify-full (verify-full with the RDS CA bundle as tls.sslrootcert is best); it is "
                       + (sslmode.map { "\"\($0)\"" } ?? "not set"))
        }
        guard let host = conninfo["host"], !host.isEmpty, !host.contains(","), !host.hasPrefix("/") else {
            throw fail("aws_auth needs the conninfo to name one host (the RDS or Aurora endpoint the token is for)")
        }
        let portText = conninfo["port"] ?? "5432"
        guard let port = Int(portText), (1...65535).contains(port) else {
            throw fail("aws_auth needs one port in the conninfo (a number; default 5432)")
        }
        let specUser = spec["user"]?.string
        if let specUser, let infoUser = conninfo["user"], specUser != infoUser {
            throw fail("aws_auth.user \"\(specUser)\" is not the conninfo's user \"\(infoUser)\": the token is for the user that signs in")
        }
        guard let user = specUser ?? conninfo["user"], !user.isEmpty else {
            throw fail("aws_auth needs the database user: give user in the conninfo or aws_auth.user")
        }
        guard let awsName = spec["connection"]?.string else {
            throw fail("aws_auth.connection must name a connection of kind aws (whose keys sign the token)")
        }
        guard let aws = cfg.json["connections"]?[awsName], aws["kind"]?.string == ConnectionKind.aws.rawValue else {
            throw fail("aws_auth.connection \"\(awsName)\" is not a connection of kind aws")
        }
        // A role assumed per identity (hoop-connect-aws's role_arn) would need an STS call
        // for every session, and the database still sees its one user: hoop-connect signs
        // only with a connection's own keys, and says so rather than sign with keys that
        // may be allowed nothing but sts:AssumeRole.
        if aws["role_arn"] != nil {
            throw fail("aws_auth.connection \"\(awsName)\" assumes a role per identity (role_arn), which IAM database tokens "
                       + "do not use: name an aws connection whose own keys may rds-db:connect")
        }
        let region = spec["region"]?.string ?? aws["region"]?.string ?? "us-east-1"
        guard SigV4Verifier.isRegion(region) else { throw fail("aws_auth.region \"\(region)\" is not an AWS region") }
        // The keys are read now, so that a missing one is a configuration error at start,
        // and again for each token, so that rotated keys are used (key files resolved
        // against the configuration's folder once, here).
        var keyFiles = aws.object ?? [:]
        for (k, v) in keyFiles where k.hasSuffix("_file") { if let f = v.string { keyFiles[k] = .string(cfg.file(f)) } }
        let keySettings = JSON.object(keyFiles)
        let load = { @Sendable () throws -> AWSCredentials in
            try AWSCredentials.load(connection: keySettings, name: awsName, path: { $0 })
        }
        do { _ = try load() } catch { throw fail("aws_auth: \(error)") }
        return RDSIAMAuth(tokens: RDSAuthTokenSource(host: host, port: port, user: user, region: region, credentials: load),
                          awsConnection: awsName)
    }

    /// Why the server refused the connection, in fixed words (libpq's message quotes the
    /// user; it never holds the password) and the settings to check, never a key.
    public func failure(_ libpqMessage: String) -> String? {
        guard libpqMessage.contains("authentication failed") else { return nil }
        return "the server refused the IAM token for user \"\(tokens.user)\" signed for region \(tokens.region) with the keys of "
            + "\"\(awsConnection)\" (check aws_auth's region and those keys, that they may rds-db:connect as this user, "
            + "and that the user is granted rds_iam)"
    }

    /// The conninfo's settings as libpq reads them (key=value or a URI), without the
    /// defaults of libpq's environment. A conninfo libpq cannot read is refused in fixed
    /// words: libpq's message would quote it.
    public static func parse(_ conninfo: String, name: String) throws -> [String: String] {
        var err: UnsafeMutablePointer<CChar>?
        guard let options = PQconninfoParse(conninfo, &err) else {
            if let err { PQfreemem(err) }
            throw ConfigError("connection \(name): libpq cannot read the conninfo")
        }
        defer { PQconninfoFree(options) }
        var out: [String: String] = [:]
        var o = options
        while let keyword = o.pointee.keyword {
            if let value = o.pointee.val { out[String(cString: keyword)] = String(cString: value) }
            o += 1
        }
        return out
    }
}
