import Testing
@testable import Orders

@Suite struct TrackingInputTests {
    static func parse(_ text: String) throws(OrderInputError) -> TrackingInput {
        try TrackingInput.parse(Array(text.utf8))
    }

    @Test func acceptsEachFieldAloneAndAllTogether() throws {
        #expect(try Self.parse(#"{"status":"out_for_delivery"}"#) == TrackingInput(status: .outForDelivery))
        #expect(try Self.parse(#"{"location":{"lat":12.97,"lng":77.59}}"#) == TrackingInput(location: GeoPoint(lat: 12.97, lng: 77.59)))
        #expect(try Self.parse(#"{"deliveryPartner":{"name":"Ravi","phone":"+91 98"}}"#)
                == TrackingInput(deliveryPartner: DeliveryPartner(name: "Ravi", phone: "+91 98")))
        #expect(try Self.parse(#"{"note":""}"#) == TrackingInput(note: ""))
        let all = try Self.parse(#"{"status":"shipped","location":{"lat":-90,"lng":180},"deliveryPartner":{"name":"R","phone":""},"note":"left hub"}"#)
        #expect(all == TrackingInput(status: .shipped, location: GeoPoint(lat: -90, lng: 180),
                                     deliveryPartner: DeliveryPartner(name: "R", phone: ""), note: "left hub"))
        for status in OrderStatus.allCases {
            #expect(try Self.parse("{\"status\":\"\(status.rawValue)\"}").status == status)
        }
    }

    static let refused: [(String, String?, String)] = [
        ("{}", nil, "body must contain at least one of status, location, deliveryPartner, note"),
        (#"{"status":null,"note":null}"#, nil, "body must contain at least one of status, location, deliveryPartner, note"),
        ("[]", nil, "body must be a JSON object"),
        (#"{"status":"lost"}"#, "status", "status must be one of placed, confirmed, packed, shipped, out_for_delivery, delivered, cancelled"),
        (#"{"status":3}"#, "status", "status must be one of placed, confirmed, packed, shipped, out_for_delivery, delivered, cancelled"),
        (#"{"location":[1,2]}"#, "location", "location must be an object"),
        (#"{"location":{"lat":12}}"#, "location.lng", "location.lng is required"),
        (#"{"location":{"lat":90.5,"lng":0}}"#, "location.lat", "location.lat must be a number from -90 to 90"),
        (#"{"location":{"lat":"1","lng":0}}"#, "location.lat", "location.lat must be a number from -90 to 90"),
        (#"{"location":{"lat":0,"lng":-180.1}}"#, "location.lng", "location.lng must be a number from -180 to 180"),
        (#"{"location":{"lat":0,"lng":0,"alt":5}}"#, "location.alt", "location.alt is not a known field"),
        (#"{"deliveryPartner":"Ravi"}"#, "deliveryPartner", "deliveryPartner must be an object"),
        (#"{"deliveryPartner":{"name":"","phone":"1"}}"#, "deliveryPartner.name", "deliveryPartner.name must be a non-empty string"),
        (#"{"deliveryPartner":{"name":"R"}}"#, "deliveryPartner.phone", "deliveryPartner.phone is required"),
        (#"{"deliveryPartner":{"name":"R","phone":98}}"#, "deliveryPartner.phone", "deliveryPartner.phone must be a string"),
        (#"{"note":5}"#, "note", "note must be a string"),
        (#"{"note":"ok","lcoation":{}}"#, "lcoation", "lcoation is not a known field"),
    ]

    @Test(arguments: refused)
    func refusesBadFields(_ text: String, _ field: String?, _ message: String) {
        #expect(throws: OrderInputError(kind: .invalidField, field: field, message: message)) { try Self.parse(text) }
    }

    @Test func limitsNoteLength() throws {
        let longest = String(repeating: "ü", count: 1000)
        #expect(try Self.parse("{\"note\":\"\(longest)\"}").note == longest)
        #expect(throws: OrderInputError(kind: .invalidField, field: "note", message: "note must be at most 1000 characters")) {
            try Self.parse("{\"note\":\"\(longest)x\"}")
        }
    }

    @Test func refusesBadJSON() {
        #expect(throws: OrderInputError.self) { try Self.parse("{\"status\":\"shipped\"} trailing") }
        do { _ = try Self.parse("") } catch { #expect(error.kind == .malformedJSON) }
    }
}
