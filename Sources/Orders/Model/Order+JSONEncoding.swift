import JSON
extension Order {
    /// The order's JSON, in the contract's shape and key order:
    /// ```
    /// {"id","userId","items":[{"productId","name","quantity","price"}],"total","paymentMethod",
    ///  "status","shippingAddress","tracking":{"status","location","deliveryPartner",
    ///  "history":[{"status","note","location","at"}]},"metadata","createdAt","updatedAt"}
    /// ```
    /// Encode once per change and send the same bytes to every subscriber.
    public func jsonBytes() -> [UInt8] {
        var writer = JSONWriter(reservingCapacity: 512 + items.count * 96 + tracking.history.count * 96)
        appendJSON(to: &writer)
        return writer.bytes
    }

    /// Appends the order's JSON (see `jsonBytes()`) to `writer`.
    public func appendJSON(to writer: inout JSONWriter) {
        writer.append(UInt8(ascii: "{"))
        writer.appendKey("id"); writer.writeString(id)
        writer.appendRaw(","); writer.appendKey("userId"); writer.writeString(userId)
        writer.appendRaw(","); writer.appendKey("items"); writer.append(UInt8(ascii: "["))
        for (i, item) in items.enumerated() {
            if i > 0 { writer.append(UInt8(ascii: ",")) }
            writer.append(UInt8(ascii: "{"))
            writer.appendKey("productId"); writer.writeString(item.productId)
            writer.appendRaw(","); writer.appendKey("name"); writer.writeString(item.name)
            writer.appendRaw(","); writer.appendKey("quantity"); writer.writeInteger(Int64(item.quantity))
            writer.appendRaw(","); writer.appendKey("price"); writer.writeNumber(item.price)
            writer.append(UInt8(ascii: "}"))
        }
        writer.append(UInt8(ascii: "]"))
        writer.appendRaw(","); writer.appendKey("total"); writer.writeNumber(total)
        writer.appendRaw(","); writer.appendKey("paymentMethod"); writer.writeString(paymentMethod.rawValue)
        writer.appendRaw(","); writer.appendKey("status"); writer.writeString(status.rawValue)
        writer.appendRaw(","); writer.appendKey("shippingAddress"); writer.write(shippingAddress)
        writer.appendRaw(","); writer.appendKey("tracking"); writer.append(UInt8(ascii: "{"))
        writer.appendKey("status"); writer.writeString(status.rawValue)
        writer.appendRaw(","); writer.appendKey("location"); writeLocation(tracking.location, to: &writer)
        writer.appendRaw(","); writer.appendKey("deliveryPartner")
        if let partner = tracking.deliveryPartner {
            writer.append(UInt8(ascii: "{"))
            writer.appendKey("name"); writer.writeString(partner.name)
            writer.appendRaw(","); writer.appendKey("phone"); writer.writeString(partner.phone)
            writer.append(UInt8(ascii: "}"))
        } else {
            writer.writeNull()
        }
        writer.appendRaw(","); writer.appendKey("history"); writer.append(UInt8(ascii: "["))
        for (i, entry) in tracking.history.enumerated() {
            if i > 0 { writer.append(UInt8(ascii: ",")) }
            writer.append(UInt8(ascii: "{"))
            writer.appendKey("status"); writer.writeString(entry.status.rawValue)
            writer.appendRaw(","); writer.appendKey("note")
            if let note = entry.note { writer.writeString(note) } else { writer.writeNull() }
            writer.appendRaw(","); writer.appendKey("location"); writeLocation(entry.location, to: &writer)
            writer.appendRaw(","); writer.appendKey("at"); writeTimestamp(entry.atMs, to: &writer)
            writer.append(UInt8(ascii: "}"))
        }
        writer.appendRaw("]}")
        writer.appendRaw(","); writer.appendKey("metadata"); writer.write(metadata)
        writer.appendRaw(","); writer.appendKey("createdAt"); writeTimestamp(createdAtMs, to: &writer)
        writer.appendRaw(","); writer.appendKey("updatedAt"); writeTimestamp(updatedAtMs, to: &writer)
        writer.append(UInt8(ascii: "}"))
    }

    private func writeLocation(_ location: GeoPoint?, to writer: inout JSONWriter) {
        guard let location else { writer.writeNull(); return }
        writer.append(UInt8(ascii: "{"))
        writer.appendKey("lat"); writer.writeNumber(location.lat)
        writer.appendRaw(","); writer.appendKey("lng"); writer.writeNumber(location.lng)
        writer.append(UInt8(ascii: "}"))
    }

    private func writeTimestamp(_ ms: Int64, to writer: inout JSONWriter) {
        writer.append(UInt8(ascii: "\""))
        Timestamp.appendISO8601(ms: ms, to: &writer.bytes)
        writer.append(UInt8(ascii: "\""))
    }
}
