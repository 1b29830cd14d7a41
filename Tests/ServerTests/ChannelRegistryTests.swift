import Testing
@testable import OrderPushServer

/// `SubscriberTable` (the loop's `ChannelRegistry`): who follows which channel.
@Suite struct ChannelRegistryTests {
    final class Subscriber: ChannelSubscriber {
        let serial: UInt64
        init(_ serial: UInt64) { self.serial = serial }
    }

    private func serials(_ table: SubscriberTable<Subscriber>, _ channel: String) -> Set<UInt64> {
        Set(table.connections(on: channel).map { $0.map(\.serial) } ?? [])
    }

    @Test func addingTwiceKeepsOneEntryAndSaysSo() {
        var table = SubscriberTable<Subscriber>()
        let a = Subscriber(1)
        let added1 = table.add(a, to: "admin")
        #expect(added1)
        let added2 = table.add(a, to: "admin")
        #expect(!added2)
        #expect(table.count(on: "admin") == 1)
        #expect(serials(table, "admin") == [1])
    }

    @Test func channelsAreIndependent() {
        var table = SubscriberTable<Subscriber>()
        let a = Subscriber(1), b = Subscriber(2)
        let added3 = table.add(a, to: "admin")
        #expect(added3)
        let added4 = table.add(a, to: "user:u42")
        #expect(added4)
        let added5 = table.add(b, to: "user:u42")
        #expect(added5)
        #expect(serials(table, "admin") == [1])
        #expect(serials(table, "user:u42") == [1, 2])
        table.remove(a, from: "user:u42")
        #expect(serials(table, "user:u42") == [2])
        #expect(serials(table, "admin") == [1])
    }

    @Test func removingTheLastSubscriberForgetsTheChannel() {
        var table = SubscriberTable<Subscriber>()
        let a = Subscriber(1)
        _ = table.add(a, to: "user:u1")
        table.remove(a, from: "user:u1")
        #expect(table.connections(on: "user:u1") == nil)
        #expect(table.count(on: "user:u1") == 0)
        #expect(table.subscribers.isEmpty)
    }

    @Test func removingWhatIsNotThereChangesNothing() {
        var table = SubscriberTable<Subscriber>()
        let a = Subscriber(1), b = Subscriber(2)
        _ = table.add(a, to: "admin")
        table.remove(b, from: "admin")
        table.remove(a, from: "user:nobody")
        #expect(serials(table, "admin") == [1])
        #expect(table.subscribers.count == 1)
    }

    @Test func subscribersAreKeptBySerial() {
        // A new object with the serial of one already there replaces it: the serial is
        // the identity, so an entry can never point at two connections.
        var table = SubscriberTable<Subscriber>()
        let first = Subscriber(7), again = Subscriber(7)
        let added6 = table.add(first, to: "admin")
        #expect(added6)
        let added7 = table.add(again, to: "admin")
        #expect(!added7)
        #expect(table.count(on: "admin") == 1)
        #expect(table.connections(on: "admin")?.first === again)
    }

    @Test func manySubscribersComeAndGo() {
        var table = SubscriberTable<Subscriber>()
        let all = (1...1000).map { Subscriber(UInt64($0)) }
        for s in all {
            let added = table.add(s, to: "admin")
            #expect(added)
        }
        for s in all where s.serial % 2 == 0 { table.remove(s, from: "admin") }
        #expect(serials(table, "admin") == Set(all.filter { $0.serial % 2 == 1 }.map(\.serial)))
    }
}
