import Foundation

/// What ends a host name written without a scheme (`portal.example-clinic.org/p?id=…`)
/// or an address written around "at" and "dot": the top-level domains IANA delegates
/// (TopLevelDomains.list, generated). A file's extension is rarely one followed by a path.
extension TopLevelDomains {
    static let set: Set<UInt64> = Set(list.split(whereSeparator: { $0 == " " || $0 == "\n" }).map { Scan.hashLower(String($0)) })

    /// The common ones, and every country's code (two letters): a host of two labels
    /// (`example.com/path`) ends in one. IANA's other names (`.tab`, `.tui`, `.zip`) end
    /// a source tree's file names as often (`gen.tab/Makefile.am`, `gdb.tui/scroll.exp`).
    static let common: Set<UInt64> = Set("""
        com org net edu gov mil int info biz name pro mobi io ai app dev co me tv cloud online site web tech
        health healthcare care clinic hospital doctor dental pharmacy med medical email link blog shop xyz top
        """.split(whereSeparator: { $0 == " " || $0 == "\n" }).map { Scan.hashLower(String($0)) })

    /// `a..<b` is a common TLD or a country's code.
    static func isCommon(_ t: [UInt8], _ a: Int, _ b: Int) -> Bool {
        b - a == 2 && isAlpha(t[a]) && isAlpha(t[a + 1]) && set.contains(Scan.hashLower(t, a, b))
            || b - a > 2 && b - a <= 12 && common.contains(Scan.hashLower(t, a, b))
    }

    /// The label `a..<b` is a top-level domain: one IANA delegates (any case), or letters of
    /// a script other than Latin (an internationalised TLD as written: `公司`, `рф`).
    static func contains(_ t: [UInt8], _ a: Int, _ b: Int) -> Bool {
        guard b - a >= 2 else { return false }
        if t[a..<b].allSatisfy({ $0 >= 0x80 }) { return b - a >= 4 }
        return b - a <= 24 && set.contains(Scan.hashLower(t, a, b))
    }
}
