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
}
