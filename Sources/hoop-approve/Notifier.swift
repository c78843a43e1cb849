import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import HoopApproval
import HoopFrames

/// Tells approvers about new held requests: a webhook POST (JSON, or a Slack
/// incoming-webhook body) per request, retried with back-off until it is taken. The
/// store remembers what was sent, so a restart neither loses nor repeats a notice.
/// Nothing in it can carry PHI: the statement is the parser's normalised form (every
/// literal a $n), and neither the full text nor the justification is sent.
final class Notifier: @unchecked Sendable {
    let url: URL
    let slack: Bool
    let maxAttempts: Int
    let store: ApprovalStore
    private let wakeup = NSCondition()
    private var woken = false

    init?(_ cfg: GatewayConfig, store: ApprovalStore) throws {
        guard let w = cfg.json["approval"]?["webhook"], let u = w["url"]?.string else { return nil }
        guard let url = URL(string: u), let host = url.host,
              url.scheme == "https" || (url.scheme == "http" && (host == "localhost" || host.hasPrefix("127.") || host == "::1")) else {
            throw ConfigError("approval.webhook.url must be an https URL (http only on a loopback host)")
        }
        self.url = url
        slack = w["format"]?.string == "slack"
        maxAttempts = Int(w["retries"]?.int ?? 8) + 1
        self.store = store
    }

    func wake() {
        wakeup.lock(); woken = true; wakeup.signal(); wakeup.unlock()
    }

    func start() {
        let t = Thread { [self] in
            var backoff = 0.5
            while true {
                wakeup.lock()
                if !woken { _ = wakeup.wait(until: Date(timeIntervalSinceNow: backoff)) }
                woken = false
                wakeup.unlock()
                var failed = false
                for r in (try? store.unnotified(maxAttempts: maxAttempts)) ?? [] {
                    let ok = post(body(r))
                    try? store.noted(r.id, delivered: ok)
                    if ok { logLine(ApprovalGate.stage, "webhook: notified \(r.id)") } else { failed = true }
                }
                // Back off while the receiver fails; come back quickly once it works.
                backoff = failed ? min(backoff * 2, 30) : 1
            }
        }
        t.name = "hoop-approve webhook"
        t.start()
    }

    func body(_ r: HeldRequest) -> JSON {
        // The normaliser leaves some literals in place (COMMENT ON ... IS '...', a DO
        // body): a statement that still has a quoted string is not sent.
        let clean = r.normalized.flatMap { n in n.contains("'") || n.contains("$$") ? nil : n }
        let statement = r.kind == .access ? nil : (clean ?? "(not shown here: see hoop-approve show \(r.id))")
        let approve = "hoop-approve grant \(r.id)"
        if slack {
            var text = "*hoop*: \(r.requester.user) (\(r.requester.kind)) asks for \(r.kind == .access ? "access to" : "a request on") `\(r.connection)`: "
                + r.reasons.joined(separator: "; ")
            if let statement { text += "\n```\(statement)```" }
            text += "\nApprove: `\(approve)`  ·  Deny: `hoop-approve deny \(r.id) --reason …`"
            return .object(["text": .string(text)])
        }
        var o: [String: JSON] = [
            "event": .string("approval_requested"), "id": .string(r.id), "kind": .string(r.kind.rawValue),
            "connection": .string(r.connection),
            "requester": .object(["user": .string(r.requester.user), "kind": .string(r.requester.kind)]),
            "reasons": .array(r.reasons.map(JSON.string)), "approvals_required": .int(Int64(r.approvalsRequired)),
            "expires_at": .int(Int64(r.expiresAt)), "approve": .string(approve),
            "deny": .string("hoop-approve deny \(r.id) --reason …"),
        ]
        if let statement { o["statement"] = .string(statement) }
        if let d = r.durationSeconds { o["duration_seconds"] = .int(Int64(d)) }
        return .object(o)
    }

    /// One POST, five seconds at most; true on a 2xx answer.
    private func post(_ body: JSON) -> Bool {
        var request = URLRequest(url: url, cachePolicy: .reloadIgnoringLocalCacheData, timeoutInterval: 5)
        request.httpMethod = "POST"
        request.setValue("application/json", forHTTPHeaderField: "Content-Type")
        request.httpBody = Data(body.encodedString.utf8)
        let done = DispatchSemaphore(value: 0)
        nonisolated(unsafe) var ok = false
        let task = URLSession.shared.dataTask(with: request) { _, response, _ in
            if let http = response as? HTTPURLResponse, (200..<300).contains(http.statusCode) { ok = true }
            done.signal()
        }
        task.resume()
        if done.wait(timeout: .now() + 6) == .timedOut { task.cancel(); _ = done.wait(timeout: .now() + 1) }
        return ok
    }
}
