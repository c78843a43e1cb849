import Foundation
import HoopJSON

/// Credentials written into an answer as someone's configuration rather than as the
/// model's members (docs/aws.md, "Masking"): a command line's arguments after a flag
/// named as a credential (an EMR step's `Args`: `--db-password VALUE`, `--api-key=VALUE`,
/// `-p VALUE`), and the values of map keys so named (an EMR configuration's
/// `Properties`: `javax.jdo.option.ConnectionPassword`, Glue's `DefaultArguments`).
/// hoop-mask redacts those values; the flags and keys stay.
enum CredentialValues {
    /// Words that make a name a credential's.
    static let credentialWords: [String] = ["password", "passwd", "pwd", "passphrase", "secret", "token", "apikey", "credential",
                                            "credentials", "privatekey", "secretkey", "accesskey", "authkey", "sessionkey"]
    /// Pairs of words that do too (`api_key`, `private-key`, `fs.s3a.secret.key`).
    static let credentialPairs: [(String, String)] = [("api", "key"), ("private", "key"), ("secret", "key"), ("access", "key"),
                                                      ("auth", "key"), ("session", "key"), ("client", "secret"), ("pass", "word")]
    /// A last word that makes the name one about a credential, not the credential: where
    /// it is (a file, a path, an ARN), what it is called, how long it lasts, whether it is on.
    static let describingWords: Set<String> = [
        "file", "path", "arn", "id", "name", "type", "length", "lifetime", "ttl", "expiry", "expiration", "expires", "enabled",
        "enable", "provider", "class", "location", "uri", "url", "policy", "rotation", "size", "count", "timeout", "mode",
        "algorithm", "format", "version", "required", "header", "field", "param", "prompt", "env", "variable", "reference",
        "ref", "store", "manager", "endpoint", "validity", "age", "days", "hash", "digest", "kms", "dir", "directory"]

    /// A name in lowercase words: `javax.jdo.option.ConnectionPassword` → javax, jdo,
    /// option, connection, password; `--db-password` → db, password; `DBPasswordOut` → db,
    /// password, out.
    static func words(_ name: String) -> [String] {
        var out: [String] = [], word = ""
        var previous: Character? = nil
        let chars = Array(name)
        for (i, c) in chars.enumerated() {
            if c.isLetter || c.isNumber {
                // A capital after a small letter begins a word (ConnectionPassword).
                if c.isUppercase, let p = previous, p.isLowercase || p.isNumber, !word.isEmpty { out.append(word); word = "" }
                // So does the last capital of a run before small letters (DBPassword: db,
                // password; not ARNs, IDs).
                if c.isLowercase, let p = previous, p.isUppercase, word.count >= 2, i + 1 < chars.count, chars[i + 1].isLowercase {
                    let last = word.removeLast()
                    out.append(word); word = String(last)
                }
                word.append(Character(c.lowercased()))
            } else if !word.isEmpty {
                out.append(word); word = ""
            }
            previous = c
        }
        if !word.isEmpty { out.append(word) }
        return out
    }

    /// Whether a flag's or a key's name names a credential: a credential's word (or pair
    /// of words) in it, its last word not one that only describes one (`password_file`,
    /// `token.lifetime`, `SecretArn`); `-p` (a password, for mysql and its kin).
    static func isCredentialName(_ name: String) -> Bool {
        if name == "-p" { return true }
        var w = words(name)
        // `-Dkey` (a Java system property): its name after the D.
        if name.hasPrefix("-D"), let first = w.first, first.hasPrefix("d") { w[0] = String(first.dropFirst()) }
        guard let last = w.last, !describingWords.contains(last) else { return false }
        // A flag that turns a credential off or asks for it (`--no-password`, `--password-stdin`).
        if name.hasPrefix("-"), w.first == "no" || w.contains("stdin") { return false }
        let joined = w.joined()
        if credentialWords.contains(where: { word in w.contains(word) || (word.count > 6 && joined.hasSuffix(word)) }) { return true }
        for i in w.indices.dropLast() where credentialPairs.contains(where: { $0.0 == w[i] && $0.1 == w[i + 1] }) { return true }
        return false
    }

    /// The model's name/value pairs of an answer (scripts/aws-tables' `pairs`): the
    /// lower-case value member, its key members.
    typealias Pairs = [String: Set<String>]

    static func pairs(_ list: [[String]]) -> Pairs {
        var out: Pairs = [:]
        for p in list where p.count == 2 { out[p[1].lowercased(), default: []].insert(p[0].lowercased()) }
        return out
    }

    /// A name/value pair written as one structure's members (JSON members, or an XML
    /// element's child elements): Parameter Store's `{Name: "/clinic/db/password", Value: …}`,
    /// a tag's `{Key, Value}`, a DB parameter's `{ParameterName, ParameterValue}`, an XML
    /// map's `<entry><key>…</key><value>…</value></entry>`. The value-like members (`Value`,
    /// `…Value`, `Values`) whose name-like member (`Name`, `Key`, or the same stem's:
    /// `ParameterName`; or the model's pair, `pairs`: ParameterKey for DefaultValue) is a
    /// string naming a credential: their values are redacted, as a map key's are.
    static func valuesNamedCredential(_ o: [String: JSON], pairs: Pairs = [:]) -> Set<String> {
        guard o.count >= 2 else { return [] }
        var out: Set<String> = []
        for k in o.keys {
            let lower = k.lowercased()
            guard let suffix = ["values", "value"].first(where: { lower.hasSuffix($0) }) else { continue }
            let stem = String(lower.dropLast(suffix.count))
            let names = Set(["name", "key", stem + "name", stem + "key"]).union(pairs[lower] ?? [])
            if o.contains(where: { n, v in n != k && names.contains(n.lowercased()) && v.string.map(isCredentialName) == true }) {
                out.insert(k)
            }
        }
        return out
    }

    /// A command line's arguments with every credential a flag names redacted: the
    /// argument after `--password` (unless it is another flag), the value of
    /// `--password=VALUE` and of `name=VALUE` (`-Dx.password=VALUE`, a `--conf`'s
    /// `spark.…secret.key=VALUE`). Nil when nothing is redacted; `hidden`, how many.
    static func argumentsHidden(_ args: [String]) -> (args: [String], hidden: Int)? {
        var out = args, hidden = 0, i = 0
        while i < out.count {
            let a = out[i]
            if let eq = a.firstIndex(of: "="), eq != a.startIndex {
                let name = String(a[..<eq])
                if isCredentialName(name), a.index(after: eq) < a.endIndex {
                    out[i] = String(a[...eq]) + "[REDACTED]"; hidden += 1
                }
            } else if a.hasPrefix("-"), isCredentialName(a), i + 1 < out.count, !out[i + 1].hasPrefix("--") {
                out[i + 1] = "[REDACTED]"; hidden += 1
                i += 1
            }
            i += 1
        }
        return hidden == 0 ? nil : (out, hidden)
    }
}
