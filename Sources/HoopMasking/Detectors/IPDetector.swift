/// IPv4 (four dotted octets 0-255) and IPv6 (hex groups; eight of them, or fewer with
/// one "::"). Clock times such as 10:00:00 have neither eight groups nor "::", so they
/// are not taken for IPv6. An address takes what still names it after it: a network's
/// prefix length (`10.1.2.3/24`, `2001:db8::/32`) and an IPv6 zone (`fe80::1%eth0`).
public struct IPDetector: Detector {
    public var entities: [Entity] { [.ipAddress] }
    public init() {}

    static func ipv4(_ t: [UInt8], _ i: Int) -> Int? {
        var p = i
        for octet in 0..<4 {
            let run = Scan.digitRun(t, p)
            guard run >= 1, run <= 3, Scan.number(t, p, run) <= 255 else { return nil }
            p += run
            if octet < 3 { guard p < t.count, t[p] == ch(".") else { return nil }; p += 1 }
        }
        if let e = prefixLength(t, p, max: 32) { return e }
        return Scan.numberEnd(t, p) ? p : nil
    }

    /// A CIDR prefix length at `p` (`/24`, 0 to `max`) ending a number: where it ends.
    static func prefixLength(_ t: [UInt8], _ p: Int, max: Int) -> Int? {
        guard p + 1 < t.count, t[p] == ch("/") else { return nil }
        let r = Scan.digitRun(t, p + 1)
        guard r >= 1, r <= 3, Scan.number(t, p + 1, r) <= max, Scan.numberEnd(t, p + 1 + r) else { return nil }
        return p + 1 + r
    }

    /// An IPv6 zone at `p` (`%eth0`, `%25en0` as a URL escapes it, `%3`): where it ends.
    static func zone(_ t: [UInt8], _ p: Int) -> Int? {
        guard p + 1 < t.count, t[p] == ch("%") else { return nil }
        var e = p + 1
        while e < t.count, e - p <= 32, isAlnum(t[e]) || t[e] == ch("_") || t[e] == ch("-") || t[e] == ch(".") && e + 1 < t.count && isAlnum(t[e + 1]) { e += 1 }
        return e > p + 1 && Scan.rightBoundary(t, e) ? e : nil
    }

    static func ipv6(_ t: [UInt8], _ i: Int) -> Int? {
        var e = i
        while e < t.count, isHex(t[e]) || t[e] == ch(":") || t[e] == ch(".") { e += 1 }
        while e > i, t[e - 1] == ch("."), !(e - 2 >= i && t[e - 2] == ch(":")) { e -= 1 }
        if e > i + 1, t[e - 1] == ch(":"), t[e - 2] != ch(":") { e -= 1 }
        guard Scan.rightBoundary(t, e), e - i >= 3 else { return nil }
        var colons = 0, doubles = 0, group = 0, groups = 0, hasHex = false
        var k = i
        while k < e {
            if t[k] == ch(":") {
                colons += 1
                if k + 1 < e, t[k + 1] == ch(":") { doubles += 1 }
                if group > 0 { groups += 1 }
                group = 0
            } else if t[k] == ch(".") {
                group = 0   // embedded IPv4 tail; accepted loosely
            } else {
                group += 1; hasHex = true
                if group > 4 { return nil }
            }
            k += 1
        }
        if group > 0 { groups += 1 }
        guard hasHex, doubles <= 1, colons >= 2, colons <= 7 else { return nil }
        if doubles == 0 && colons != 7 { return nil }
        if doubles == 1 && groups < 1 { return nil }
        if let z = zone(t, e) { e = z }
        return prefixLength(t, e, max: 128) ?? e
    }

    /// The address at `i..<e` names no host: this host's loopback (`127.x.x.x`, `::1`) or
    /// the unspecified address (`0.0.0.0`, `::`), as `listen 0.0.0.0:5432` or a local
    /// client's `client_addr` write them. The same on every machine, it is no one's device.
    static func noHost(_ t: [UInt8], _ i: Int, _ e: Int) -> Bool {
        var end = e
        if let slash = t[i..<e].firstIndex(of: ch("/")) { end = slash }
        let a = t[i..<end]
        if a.elementsEqual("::".utf8) || a.elementsEqual("::1".utf8) { return true }
        guard isDigit(t[i]), a.contains(ch(".")), !a.contains(ch(":")) else { return false }
        let first = Scan.number(t, i, Scan.digitRun(t, i))
        return first == 127 || a.allSatisfy { $0 == ch("0") || $0 == ch(".") }
    }

    public func detect(_ t: [UInt8], into spans: inout [DetectedSpan]) {
        let n = t.count
        var i = 0
        while i < n {
            let c = t[i]
            guard isHex(c) || c == ch(":"), i == 0 || !(Scan.isWordByte(t[i - 1]) || t[i - 1] == ch(":") || t[i - 1] == ch(".")) else {
                i += 1; continue
            }
            if isDigit(c), let e = Self.ipv4(t, i) {
                if !Self.noHost(t, i, e) { spans.append(DetectedSpan(.ipAddress, i, e)) }
                i = e; continue
            }
            if let e = Self.ipv6(t, i) {
                if !Self.noHost(t, i, e) { spans.append(DetectedSpan(.ipAddress, i, e)) }
                i = e; continue
            }
            i += 1
            while i < n, Scan.isWordByte(t[i]), !Scan.escapedControl(t, i) { i += 1 }
        }
    }
}

extension IPDetector {
    /// IPv4: three dots and a first octet (1-3 digits) starting a word before a dot;
    /// IPv6: seven colons, or "::".
    public func mayMatch(_ p: ScanProfile) -> Bool {
        p.colons >= 7 || p.doubleColon
            || p.dots >= 3 && p.runsLR & (ScanProfile.run(1) | ScanProfile.run(2) | ScanProfile.run(3)) != 0
    }
}
