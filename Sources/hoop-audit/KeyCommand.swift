import ArgumentParser
import Crypto
import Foundation
import HoopAudit
import HoopFrames
#if canImport(Glibc)
import Glibc
#endif

struct KeyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "key",
        abstract: "Print the public key of the configured signing key (hex), for auditors; --generate FILE makes a new signing key.")
    @OptionGroup var options: StoreOptions
    @Option(help: "Write a new signing key (hex seed, mode 0600) to this file and print its public key.")
    var generate: String?

    func run() throws {
        if let path = generate {
            let key = Curve25519.Signing.PrivateKey()
            let old = umask(0o077)
            defer { umask(old) }
            guard FileManager.default.createFile(atPath: path, contents: Data((key.rawRepresentation.hex + "\n").utf8)) else {
                throw ConfigError("cannot write \(path)")
            }
            return print(key.publicKey.rawRepresentation.hex)
        }
        guard let key = try options.signer() else { throw ConfigError("no audit.signing_key in the configuration") }
        print(key.publicKey.rawRepresentation.hex)
    }
}

