import Glibc
import Reactor
import Synchronization
import Testing

/// `Mailbox`: what crosses threads into a loop. Order is kept, the eventfd wakes the owner
/// once per batch, and a consumer on another thread receives everything posted.
@Suite struct MailboxTests {
    /// Whether `fd` is readable now (poll with a zero timeout: a state check, not a wait).
    private func isReadableNow(_ fd: Int32) -> Bool {
        var pfd = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        return poll(&pfd, 1, 0) == 1 && (pfd.revents & Int16(POLLIN)) != 0
    }

    @Test func takeAllReturnsMessagesInPostOrderAndEmptiesTheQueue() throws {
        let mailbox = try Mailbox<Int>()
        for i in 0..<1000 { mailbox.post(i) }
        #expect(mailbox.takeAll() == Array(0..<1000))
        #expect(mailbox.takeAll().isEmpty)
        mailbox.post(7)
        #expect(mailbox.takeAll() == [7])
    }

    @Test func postingIntoAnEmptyQueueMakesTheEventfdReadable() throws {
        let mailbox = try Mailbox<String>()
        #expect(!isReadableNow(mailbox.wakeup.fd))
        mailbox.post("a")
        #expect(isReadableNow(mailbox.wakeup.fd))
        mailbox.wakeup.drain()
        #expect(!isReadableNow(mailbox.wakeup.fd))
        #expect(mailbox.takeAll() == ["a"])
    }

    @Test func oneWakeupPerBatch() throws {
        let mailbox = try Mailbox<Int>()
        mailbox.post(1)
        mailbox.wakeup.drain()
        // The queue is not empty, so the owner has not taken the batch yet: no second wakeup.
        mailbox.post(2)
        #expect(!isReadableNow(mailbox.wakeup.fd))
        #expect(mailbox.takeAll() == [1, 2])
        // Empty again: the next post signals.
        mailbox.post(3)
        #expect(isReadableNow(mailbox.wakeup.fd))
    }

    @Test func aConsumerOnAnotherThreadReceivesEveryMessageInOrderPerProducer() throws {
        let producers = 4, perProducer = 5000
        let mailbox = try Mailbox<(producer: Int, n: Int)>(blocking: true)
        let received = Mutex<[(producer: Int, n: Int)]>([])
        let consumer = try LoopThread {
            var count = 0
            while count < producers * perProducer {
                mailbox.wakeup.wait()
                let batch = mailbox.takeAll()
                count += batch.count
                received.withLock { $0.append(contentsOf: batch) }
            }
        }
        var threads: [LoopThread] = []
        for p in 0..<producers {
            threads.append(try LoopThread {
                for n in 0..<perProducer { mailbox.post((producer: p, n: n)) }
            })
        }
        for thread in threads { thread.join() }
        consumer.join()

        let all = received.withLock { $0 }
        #expect(all.count == producers * perProducer)
        for p in 0..<producers {
            #expect(all.filter { $0.producer == p }.map(\.n) == Array(0..<perProducer))
        }
    }
}
