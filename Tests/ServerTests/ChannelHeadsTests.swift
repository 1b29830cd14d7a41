import Storage
import Testing
@testable import OrderPushServer

/// Polling's in-memory channel heads: a channel is trusted only once storage told its head,
/// and no event recorded while it was being learned is lost.
@Suite struct ChannelHeadsTests {
    private func event(_ seq: Int64, _ user: String) -> StoredEvent {
        StoredEvent(seq: seq, kind: StoredEvent.orderCreated, orderId: "ord_\(seq)", userId: user, createdAtMs: 0, orderJSON: [])
    }

    @Test func aChannelIsUnknownUntilLearnedAndEventsMoveOnlyItsOwnHead() {
        let heads = ChannelHeads()
        #expect(heads.head(of: "user:a") == nil)
        heads.record([event(1, "a")])             // nobody asked yet: not kept
        #expect(heads.head(of: "user:a") == nil)
        heads.opening("user:a")
        #expect(heads.head(of: "user:a") == nil)  // opened, not learned: still unknown
        #expect(heads.learned("user:a", head: 1) == 1)
        #expect(heads.head(of: "user:a") == 1)
        heads.record([event(2, "b"), event(3, "a"), event(4, "b")])
        #expect(heads.head(of: "user:a") == 3)
        #expect(heads.head(of: "user:b") == nil)
        #expect(heads.head(of: Channel.admin) == nil)
        heads.opening(Channel.admin)
        heads.learned(Channel.admin, head: 4)
        heads.record([event(5, "b")])
        #expect(heads.head(of: Channel.admin) == 5)
        #expect(heads.head(of: "user:a") == 3)
        // Heads never go back: an older event or an older read changes nothing.
        heads.record([event(2, "a")])
        #expect(heads.learned("user:a", head: 1) == 3)
        #expect(heads.head(of: "user:a") == 3)
    }

    /// The race the order of calls closes: an event committed after storage was read but
    /// before the answer was taken in must still count.
    @Test func anEventBetweenTheReadAndLearningIsKept() {
        let heads = ChannelHeads()
        heads.opening("user:a")
        // ... storage read: head 7 ...
        heads.record([event(8, "a")])             // committed meanwhile
        #expect(heads.learned("user:a", head: 7) == 8)
        #expect(heads.head(of: "user:a") == 8)
    }

    @Test func forgettingOrOverflowingMakesChannelsUnknownAgain() {
        let heads = ChannelHeads(capacity: 2)
        for user in ["a", "b"] {
            heads.opening("user:" + user)
            heads.learned("user:" + user, head: 1)
        }
        #expect(heads.count == 2)
        // A third channel empties the table first; a learning in flight then stays unknown.
        heads.opening("user:c")
        #expect(heads.count == 1)
        #expect(heads.head(of: "user:a") == nil)
        heads.opening("user:d")
        heads.opening("user:e")                   // empties again: user:c is gone mid-learning
        #expect(heads.learned("user:c", head: 9) == 9)
        #expect(heads.head(of: "user:c") == nil)
        heads.learned("user:e", head: 2)
        #expect(heads.head(of: "user:e") == 2)
        heads.forgetAll()
        #expect(heads.head(of: "user:e") == nil)
        #expect(heads.count == 0)
    }
}
