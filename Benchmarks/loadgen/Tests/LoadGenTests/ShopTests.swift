import Testing
@testable import loadgen

/// The shop load's bookkeeping: which event a message is, who is owed it, and the tokens.
@Suite struct ShopTests {
    /// An event message as the server writes it (envelope, then the order with its metadata).
    private func message(kind: String, seq: Int, order: String) -> [UInt8] {
        Array(#"{"type":"event","channel":"user:u3","seq":\#(seq),"event":"\#(kind)","order":\#(order)}"#.utf8)
    }

    @Test func createdEventCarriesThePostStamp() {
        let order = #"{"id":"ord_1","userId":"u3","tracking":{"status":"placed","location":null,"deliveryPartner":null,"history":[]},"metadata":{"t":555,"seq":7}}"#
        let event = message(kind: "order.created", seq: 41, order: order).withUnsafeBytes { ShopFormat.event(in: $0, from: 0) }
        #expect(event?.order == 7)
        #expect(event?.k == 0)
        #expect(event?.sentNs == 555)
        #expect(event?.seq == 41)
    }

    @Test func updateEventCarriesItsNumberAndThePutStamp() {
        let order = #"{"id":"ord_1","userId":"u3","tracking":{"status":"packed","location":null,"deliveryPartner":{"name":"lg2","phone":"999"},"history":[{"status":"placed","note":null}]},"metadata":{"t":555,"seq":7}}"#
        let event = message(kind: "tracking.updated", seq: 50, order: order).withUnsafeBytes { ShopFormat.event(in: $0, from: 0) }
        #expect(event?.order == 7)
        #expect(event?.k == 2)
        #expect(event?.sentNs == 999)
        #expect(event?.seq == 50)
    }

    @Test func updateBodyNamesItsNumber() {
        let body = String(decoding: ShopFormat.updateBody(k: 3, sentNs: 12), as: UTF8.self)
        #expect(body == #"{"status":"shipped","deliveryPartner":{"name":"lg3","phone":"12"}}"#)
    }

    @Test func planGivesEveryOrderOneOwnerAndRanks() {
        let plan = ShopPlan(orders: 1000, users: 17)
        #expect(plan.countOf.reduce(0) { $0 + Int($1) } == 1000)
        var next = [Int32](repeating: 0, count: 17)
        for s in 0..<1000 {
            let u = Int(plan.userOf[s])
            #expect(plan.rankOf[s] == next[u])
            next[u] += 1
        }
        #expect(plan.countOf.filter { $0 > 0 }.count == 17)
    }

    @Test func identitiesFollowTheLayout() {
        var shop = ShopSettings()
        shop.admins = 2
        shop.customers = 10
        shop.twoTabEvery = 5
        shop.legacyPollers = 3
        #expect(shop.clientCount == 2 + 10 + 2 + 3)
        #expect(shop.identity(1).user == -1)
        #expect(shop.identity(2).user == 0)
        #expect(shop.identity(12).user == 0)     // second tab of customer 0
        #expect(shop.identity(13).user == 5)     // second tab of customer 5
        #expect(shop.identity(14).user == 10 && shop.identity(14).polls)
    }

    @Test func base64urlHasNoPadding() {
        #expect(Tokens.base64url(Array("a".utf8)) == "YQ")
        #expect(Tokens.base64url(Array("ab".utf8)) == "YWI")
        #expect(Tokens.base64url([0xfb, 0xff]) == "-_8")
    }
}
