/// The kinds of identifier hoop-mask finds and masks (docs/masking.md): the HIPAA Safe
/// Harbor identifiers that can be recognised in data, plus card numbers and NPIs.
public enum Entity: String, CaseIterable, Sendable, Codable {
    case personName = "PERSON_NAME"
    case streetAddress = "STREET_ADDRESS"
    case zipCode = "ZIP_CODE"
    case date = "DATE"
    case age = "AGE_OVER_89"
    case phone = "PHONE"
    case email = "EMAIL"
    case ssn = "SSN"
    case mrn = "MRN"
    case healthPlan = "HEALTH_PLAN_ID"
    case account = "ACCOUNT_NUMBER"
    case licence = "LICENCE_NUMBER"
    case vehicle = "VEHICLE_ID"
    case device = "DEVICE_ID"
    case url = "URL"
    case ipAddress = "IP_ADDRESS"
    case cardNumber = "CARD_NUMBER"
    case npi = "NPI"

    /// Which detection wins when two spans overlap: checksum-validated and tightly
    /// shaped identifiers first, heuristic ones (names, addresses) last, because a
    /// checksum match is far less likely to be an accident than a capitalised word.
    public var priority: Int {
        switch self {
        case .cardNumber: return 100
        case .npi: return 95
        case .ssn, .vehicle: return 90
        case .email: return 85
        case .url, .mrn: return 80
        case .ipAddress: return 75
        case .account: return 72   // an IBAN's print form holds phone-shaped groups
        case .phone: return 70
        case .healthPlan, .licence, .device: return 60
        case .age: return 55
        case .date: return 50
        case .streetAddress: return 45
        case .zipCode: return 40
        case .personName: return 30
        }
    }

    /// The fixed marker the `redact` strategy writes, e.g. `[SSN]`.
    public var marker: String { "[\(rawValue)]" }
}

/// One detection: an entity found at a byte range of the UTF-8 text. Byte offsets,
/// not String indices, because every detector scans raw bytes for speed; ranges always
/// start and end on ASCII bytes, so they never split a multi-byte character.
public struct DetectedSpan: Equatable, Sendable, CustomStringConvertible {
    public let entity: Entity
    public let start: Int
    public let end: Int

    public init(_ entity: Entity, _ start: Int, _ end: Int) {
        self.entity = entity
        self.start = start
        self.end = end
    }

    public var length: Int { end - start }
    public var description: String { "\(entity.rawValue)@\(start)..<\(end)" }
}
