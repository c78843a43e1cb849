// swift-tools-version:6.0
import PackageDescription

// One executable per ring stage, one small library for the frame contract and the
// stage loop, and module maps for the C system libraries the design names.
let package = Package(
    name: "hoop",
    platforms: [.macOS(.v13)],
    products: [
        .executable(name: "hoop-listen", targets: ["hoop-listen"]),
        .executable(name: "hoop-auth", targets: ["hoop-auth"]),
        .executable(name: "hoop-approve", targets: ["hoop-approve"]),
        .executable(name: "hoop-dev-issuer", targets: ["hoop-dev-issuer"]),
        .executable(name: "hoop-connect", targets: ["hoop-connect"]),
        .executable(name: "hoop-mask", targets: ["hoop-mask"]),
        .executable(name: "hoop-record", targets: ["hoop-record"]),
        .executable(name: "hoop-audit", targets: ["hoop-audit"]),
        .executable(name: "hoop-listen-aws", targets: ["hoop-listen-aws"]),
        .executable(name: "hoop-connect-aws", targets: ["hoop-connect-aws"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/vapor/jwt-kit.git", from: "5.8.0"),
        .package(url: "https://github.com/apple/swift-crypto.git", from: "4.5.2"),
        .package(url: "https://github.com/apple/swift-nio-ssl.git", from: "2.37.6"),
        .package(url: "https://github.com/swift-server/async-http-client.git", from: "1.37.0"),
    ],
    targets: [
        .systemLibrary(name: "CJansson", pkgConfig: "jansson", providers: [.apt(["libjansson-dev"])]),
        .systemLibrary(name: "CLibPQ", pkgConfig: "libpq", providers: [.apt(["libpq-dev"])]),
        .systemLibrary(name: "CSQLite", pkgConfig: "sqlite3", providers: [.apt(["libsqlite3-dev"])]),
        .systemLibrary(name: "CPgQuery", providers: [.apt(["libpg-query-dev"])]),
        .systemLibrary(name: "CZlib", pkgConfig: "zlib", providers: [.apt(["zlib1g-dev"])]),
        // JSON values, the one-pass reader and the writer: for anything that reads or
        // writes JSON without being a stage (the SQL, approval and identity libraries).
        .target(name: "HoopJSON"),
        // The frame contract: frame types, frames, the stage loop, the configuration.
        .target(name: "HoopFrames", dependencies: ["HoopJSON"]),
        // What every program's command line shares (--config).
        .target(name: "HoopCommand", dependencies: [
            "HoopFrames", .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ]),
        // SQL through PostgreSQL's own parser (libpg_query): where a result column's
        // value comes from (hoop-mask), what a statement does (hoop-approve).
        .target(name: "HoopSQL", dependencies: ["HoopJSON", "CPgQuery"]),
        // OIDC token verification: hoop-auth checks every session's token with it,
        // hoop-approve every approver's.
        .target(name: "HoopIdentity", dependencies: [
            "HoopFrames", .product(name: "JWTKit", package: "jwt-kit"),
        ]),
        // The approval policy (rules over a statement's classification) and the store
        // of held requests, decisions and access grants: hoop-approve's job, in a
        // library so that the verdicts can be tested on their own.
        .target(name: "HoopApproval", dependencies: [
            "HoopFrames", "HoopSQL", "HoopSQLite", "HoopMasking", .product(name: "Crypto", package: "swift-crypto"),
        ]),
        // A blocking libpq connection for a stage's own fixed queries (hoop-approve's
        // catalog reads), the C-string helper every libpq caller needs, and `aws_auth`
        // (RDS IAM tokens as the password) for every libpq connection of the gateway.
        .target(name: "HoopPostgres", dependencies: ["CLibPQ", "HoopFrames", "HoopAWS", "HoopJSON"]),
        // A small SQLite connection (statements, bound values, rows) for the stores.
        .target(name: "HoopSQLite", dependencies: ["HoopFrames", "CSQLite"]),
        // PHI detectors and masking strategies: hoop-mask's job, kept in a library so
        // that its precision and recall can be tested on their own.
        .target(name: "HoopMasking", dependencies: ["HoopJSON", "HoopBinary", "CZlib", .product(name: "Crypto", package: "swift-crypto")]),
        // PostgreSQL's binary formats of the common types, to and from their text
        // output: hoop-listen sends binary columns to the clients that ask for them,
        // hoop-mask reads and rewrites binary COPY fields; and an array's text taken apart
        // (HoopMasking masks an array element by element).
        .target(name: "HoopBinary"),
        .executableTarget(name: "hoop-listen", dependencies: [
            "HoopFrames", "HoopCommand", "HoopBinary",
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOPosix", package: "swift-nio"),
            .product(name: "NIOSSL", package: "swift-nio-ssl"),
            .product(name: "NIOTLS", package: "swift-nio"),
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ]),
        .executableTarget(name: "hoop-auth", dependencies: [
            "HoopFrames", "HoopCommand", "HoopIdentity", "HoopAWS",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ]),
        // The development OIDC issuer: a tool beside the ring, not a stage of it.
        .executableTarget(name: "hoop-dev-issuer", dependencies: [
            "HoopFrames", "HoopCommand", "HoopIdentity",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
            .product(name: "JWTKit", package: "jwt-kit"),
            .product(name: "Crypto", package: "swift-crypto"),
            .product(name: "_CryptoExtras", package: "swift-crypto"),
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOPosix", package: "swift-nio"),
            .product(name: "NIOHTTP1", package: "swift-nio"),
        ]),
        .executableTarget(name: "hoop-approve", dependencies: [
            "HoopFrames", "HoopCommand", "HoopSQL", "HoopIdentity", "HoopApproval", "HoopPostgres", "HoopMasking", "HoopAWS",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
            .product(name: "Crypto", package: "swift-crypto"),
        ]),
        // HoopAWS: RDS IAM database tokens for connections with `aws_auth`.
        .executableTarget(name: "hoop-connect", dependencies: [
            "HoopFrames", "HoopCommand", "HoopSQL", "CLibPQ", "HoopPostgres", "HoopAWS", .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ]),
        .executableTarget(name: "hoop-mask", dependencies: [
            "HoopFrames", "HoopCommand", "HoopBinary", "HoopMasking", "HoopSQL", .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ]),
        // AWS: SigV4 (verifying, signing, presigning), the gateway's keys and temporary
        // credentials, the generated operation table, calls' parameters: the AWS door's and
        // upstream's job; and RDS IAM database tokens, hoop-connect's.
        .target(name: "HoopAWS", dependencies: ["HoopJSON", .product(name: "Crypto", package: "swift-crypto")]),
        .executableTarget(name: "hoop-listen-aws", dependencies: [
            "HoopFrames", "HoopCommand", "HoopAWS",
            .product(name: "Crypto", package: "swift-crypto"),
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOPosix", package: "swift-nio"),
            .product(name: "NIOHTTP1", package: "swift-nio"),
            .product(name: "NIOSSL", package: "swift-nio-ssl"),
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ]),
        .executableTarget(name: "hoop-connect-aws", dependencies: [
            "HoopFrames", "HoopCommand", "HoopAWS",
            .product(name: "AsyncHTTPClient", package: "async-http-client"),
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ]),
        // The audit store (SQLite or PostgreSQL), its hash chain and signed checkpoints,
        // and their verification: written by hoop-record, read by hoop-audit.
        .target(name: "HoopAudit", dependencies: [
            "HoopFrames", "HoopCommand", "CSQLite", "CLibPQ", "HoopPostgres", "HoopSQLite", .product(name: "ArgumentParser", package: "swift-argument-parser"),
            .product(name: "Crypto", package: "swift-crypto"),
        ]),
        .executableTarget(name: "hoop-record", dependencies: [
            "HoopFrames", "HoopAudit", .product(name: "ArgumentParser", package: "swift-argument-parser"),
            .product(name: "Crypto", package: "swift-crypto"),
        ]),
        // The auditors' tools: a program of its own, not a stage.
        .executableTarget(name: "hoop-audit", dependencies: [
            "HoopFrames", "HoopAudit", "HoopSQLite", "CLibPQ", .product(name: "ArgumentParser", package: "swift-argument-parser"),
            .product(name: "Crypto", package: "swift-crypto"),
        ]),
        // jansson only here and in `scripts/bench codecs`: the reference the reader is tested against.
        .testTarget(name: "HoopFramesTests", dependencies: ["HoopFrames", "HoopJSON", "CJansson"]),
        .testTarget(name: "HoopMaskingTests", dependencies: ["HoopMasking", "CZlib"]),
        .testTarget(name: "HoopSQLTests", dependencies: ["HoopSQL"]),
        .testTarget(name: "HoopBinaryTests", dependencies: ["HoopBinary"]),
        .testTarget(name: "HoopAuditTests", dependencies: ["HoopAudit", "HoopSQLite", "HoopFrames"]),
        // hoop-listen's pure parts (its ordering and credit state machine).
        .testTarget(name: "HoopListenTests", dependencies: ["hoop-listen", "HoopFrames"]),
        // hoop-connect's event loop (its sessions run against a real server in integration/),
        // and the startup settings it forwards (HoopPostgres.StartupSettings).
        .testTarget(name: "HoopConnectTests", dependencies: ["hoop-connect", "HoopFrames", "HoopPostgres"]),
        .testTarget(name: "HoopApprovalTests", dependencies: ["HoopApproval", "HoopSQL", "HoopFrames", "HoopMasking"]),
        .testTarget(name: "HoopAWSTests", dependencies: ["HoopAWS", "HoopJSON"]),
    ],
    swiftLanguageModes: [.v5]
)
