import XCTest
@testable import HoopMasking

final class EntityTests: XCTestCase {
    func testEntityNamesAreUnique() {
        XCTAssertEqual(Set(Entity.allCases.map(\.rawValue)).count, Entity.allCases.count)
    }
}
