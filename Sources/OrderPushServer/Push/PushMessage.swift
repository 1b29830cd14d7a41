import JSON
import Orders
import Storage

/// The server → client messages of docs/PROTOCOL.md §3, written straight to bytes. An event's
/// order JSON was encoded once at commit; here it is only spliced in.
enum PushMessage {
    /// `{"type":"event","channel":C,"seq":N,"event":K,"order":{...}}`: the same object on
    /// the WebSocket and in the polling answer.
    static func event(_ event: StoredEvent, channel: String) -> [UInt8] {
        var w = JSONWriter(reservingCapacity: event.orderJSON.count + 96)
        append(event, channel: channel, to: &w)
        return w.bytes
    }

    static func append(_ event: StoredEvent, channel: String, to w: inout JSONWriter) {
        w.appendRaw(#"{"type":"event","channel":"#)
        w.writeString(channel)
        w.appendRaw(#","seq":"#)
        w.writeInteger(event.seq)
        w.appendRaw(#","event":"#)
        w.writeString(event.kind)
        w.appendRaw(#","order":"#)
        w.appendRaw(event.orderJSON)
        w.append(UInt8(ascii: "}"))
    }

    static func subscribed(channel: String, head: Int64, epoch: String) -> [UInt8] {
        var w = JSONWriter()
        w.appendRaw(#"{"type":"subscribed","channel":"#)
        w.writeString(channel)
        w.appendRaw(#","head":"#)
        w.writeInteger(head)
        w.appendRaw(#","epoch":"#)
        w.writeString(epoch)
        w.append(UInt8(ascii: "}"))
        return w.bytes
    }

    static func unsubscribed(channel: String) -> [UInt8] {
        var w = JSONWriter()
        w.appendRaw(#"{"type":"unsubscribed","channel":"#)
        w.writeString(channel)
        w.append(UInt8(ascii: "}"))
        return w.bytes
    }

    static func error(code: String, message: String, channel: String?) -> [UInt8] {
        var w = JSONWriter()
        w.appendRaw(#"{"type":"error","code":"#)
        w.writeString(code)
        w.appendRaw(#","message":"#)
        w.writeString(message)
        if let channel {
            w.appendRaw(#","channel":"#)
            w.writeString(channel)
        }
        w.append(UInt8(ascii: "}"))
        return w.bytes
    }
}
