import CJansson
import HoopJSON

/// jansson, the reference parser: `JSONReader` is tested against it (the same value for
/// every text it accepts, a refusal for every text it refuses), with the flags hoop
/// used before issue 7 (JSON_REJECT_DUPLICATES | JSON_DECODE_ANY).
extension JSON {
    /// The same through jansson: the reference `JSONReader` is tested against, and
    /// the baseline of `scripts/bench codecs`.
    static func parseWithJansson(_ bytes: UnsafeRawBufferPointer) throws -> JSON {
        var error = json_error_t()
        let flags = JSON_REJECT_DUPLICATES | JSON_DECODE_ANY
        guard let root = json_loadb(bytes.baseAddress?.assumingMemoryBound(to: CChar.self),
                                    bytes.count, Int(flags), &error) else {
            // jansson's own message quotes the text near the fault; frames carry PHI,
            // so only the position is reported.
            throw JSONParseError(description: "invalid JSON at byte \(error.position)")
        }
        defer { json_decref(root) }
        return convert(root)
    }

    static func convert(_ value: UnsafeMutablePointer<json_t>) -> JSON {
        switch value.pointee.type {
        case JSON_NULL: return .null
        case JSON_TRUE: return .bool(true)
        case JSON_FALSE: return .bool(false)
        case JSON_INTEGER: return .int(Int64(json_integer_value(value)))
        case JSON_REAL: return .double(json_real_value(value))
        case JSON_STRING:
            let length = json_string_length(value)
            guard let chars = json_string_value(value) else { return .string("") }
            return .string(chars.withMemoryRebound(to: UInt8.self, capacity: length) {
                String(decoding: UnsafeBufferPointer(start: $0, count: length), as: UTF8.self)
            })
        case JSON_ARRAY:
            let count = json_array_size(value)
            var items: [JSON] = []
            items.reserveCapacity(count)
            for i in 0..<count { items.append(convert(json_array_get(value, i))) }
            return .array(items)
        case JSON_OBJECT:
            var object: [String: JSON] = [:]
            object.reserveCapacity(json_object_size(value))
            var iter = json_object_iter(value)
            while let it = iter {
                let key = String(cString: json_object_iter_key(it))
                object[key] = convert(json_object_iter_value(it))
                iter = json_object_iter_next(value, it)
            }
            return .object(object)
        default:
            return .null
        }
    }
}
