import { describe, test, expect } from "@devicescript/test"
import {
    alinkHistoryEntry,
    alinkHistoryTopic,
    BatchBuilder,
    BatchOptions,
    BatchReading,
    buildBatch,
    halfBatch,
    MAX_BATCH_BYTES,
    plainBatchElement,
    requestsFor,
} from "../../src/batch"
import { readingBody } from "../../src/reporter"
import { failsWith } from "./expect-error"

const T = 1795660000123

function readings(n: number, firstSeq: number): BatchReading[] {
    const out: BatchReading[] = []
    for (let i = 0; i < n; i++)
        out.push({
            seq: firstSeq + i,
            time: T + i * 1000,
            values: { temperature: 21.5, humidity: 40 + i },
        })
    return out
}

describe("json batches", () => {
    test("an array of the single-reading bodies, oldest first", () => {
        const b = buildBatch(readings(2, 7), { format: "json", dropped: 0 })
        expect(b.count).toBe(2)
        expect(b.body.toString()).toBe(
            '[{"ts":1795660000123,"seq":7,"temperature":21.5,"humidity":40},{"ts":1795660001123,"seq":8,"temperature":21.5,"humidity":41}]'
        )
    })
    test("each element is what the reading alone would send", () => {
        const r = readings(1, 12)[0]
        expect(plainBatchElement(r, 3)).toBe(
            readingBody("json", r.values, r.time, r.seq, 3)
        )
        expect(plainBatchElement({ seq: 2, time: NaN, values: {} }, 0)).toBe(
            '{"seq":2}'
        )
    })
    test("the drop count goes with every reading once readings were dropped", () => {
        const b = buildBatch(readings(2, 1), { format: "json", dropped: 4 })
        const parsed = JSON.parse(b.body.toString()) as any[]
        expect(parsed.length).toBe(2)
        expect(parsed[0].dropped).toBe(4)
        expect(parsed[1].dropped).toBe(4)
        expect(parsed[1].seq).toBe(2)
    })
    test("a gap in seq is fine: each element says its own seq", () => {
        const rs = readings(3, 1)
        rs[2].seq = 9
        const b = buildBatch(rs, { format: "json", dropped: 0 })
        expect(b.count).toBe(3)
        expect((JSON.parse(b.body.toString()) as any[])[2].seq).toBe(9)
    })
})

describe("alink history batches", () => {
    test("the platform's history form: identity, one properties entry per reading", () => {
        const b = buildBatch(readings(2, 41), {
            format: "alink",
            dropped: 0,
            productKey: "a1B2c3",
            deviceName: "dev-1",
        })
        expect(b.count).toBe(2)
        expect(b.body.toString()).toBe(
            '{"id":"41","version":"1.0","params":[{"identity":{"productKey":"a1B2c3","deviceName":"dev-1"},"properties":[' +
                '{"temperature":{"value":21.5,"time":1795660000123},"humidity":{"value":40,"time":1795660000123}},' +
                '{"temperature":{"value":21.5,"time":1795660001123},"humidity":{"value":41,"time":1795660001123}}' +
                ']}],"method":"thing.event.property.history.post"}'
        )
        const p = JSON.parse(b.body.toString())
        expect(p.params[0].properties[1].humidity.time).toBe(T + 1000)
    })
    test("the topic", () => {
        expect(alinkHistoryTopic("pk", "dn")).toBe(
            "/sys/pk/dn/thing/event/property/history/post"
        )
    })
    test("stops at a gap in seq: reading i is id + i", () => {
        const rs = readings(4, 5)
        rs[2].seq = 20
        const b = buildBatch(rs, {
            format: "alink",
            dropped: 0,
            productKey: "p",
            deviceName: "d",
        })
        expect(b.count).toBe(2)
        expect(JSON.parse(b.body.toString()).params[0].properties.length).toBe(
            2
        )
    })
    test("every entry needs its time and Alink identifiers", () => {
        failsWith(
            () => alinkHistoryEntry({ seq: 3, time: NaN, values: { t: 1 } }),
            "needs its time"
        )
        failsWith(
            () => alinkHistoryEntry({ seq: 3, time: T, values: { "a-b": 1 } }),
            "letters, digits"
        )
        failsWith(
            () => alinkHistoryEntry({ seq: 3, time: T, values: {} }),
            "no values"
        )
    })
})

describe("sizing", () => {
    test("as many readings as fit in maxBytes, at least one", () => {
        const rs = readings(10, 1)
        const one = buildBatch(rs.slice(0, 1), { format: "json", dropped: 0 })
        const two = buildBatch(rs.slice(0, 2), { format: "json", dropped: 0 })
        // exactly two fit
        const b = buildBatch(rs, {
            format: "json",
            dropped: 0,
            maxBytes: two.body.length,
        })
        expect(b.count).toBe(2)
        expect(b.body.toString()).toBe(two.body.toString())
        const tiny = buildBatch(rs, {
            format: "json",
            dropped: 0,
            maxBytes: 10,
        })
        expect(tiny.count).toBe(1)
        expect(tiny.body.toString()).toBe(one.body.toString())
    })
    test("the default budget holds: one more reading would not fit", () => {
        const rs = readings(130, 1)
        for (const format of ["json", "alink"]) {
            const o: BatchOptions = {
                format: format === "json" ? "json" : "alink",
                dropped: 0,
                productKey: "a1BenchPrd1",
                deviceName: "bench-device-1",
            }
            const b = new BatchBuilder(o)
            let i = 0
            while (i < rs.length && b.add(rs[i])) i++
            expect(b.count).toBe(i)
            expect(i > 60).toBe(true)
            expect(i < 130).toBe(true)
            expect(b.size() <= MAX_BATCH_BYTES).toBe(true)
            const next = b.entry(rs[i])
            expect(b.size() + 1 + next.byteLength > MAX_BATCH_BYTES).toBe(true)
            // the size counted is the body's
            expect(b.body().length).toBe(b.size())
        }
    })
    test("a reading that cannot be sent ends the batch before it; alone it throws", () => {
        const rs = readings(3, 1)
        rs[1].values = { temperature: NaN }
        const b = buildBatch(rs, { format: "json", dropped: 0 })
        expect(b.count).toBe(1)
        failsWith(
            () => buildBatch(rs.slice(1), { format: "json", dropped: 0 }),
            "not a finite"
        )
        failsWith(() => buildBatch([], { format: "json", dropped: 0 }), "needs")
    })
    test("splitting halves, rounding up; requests to drain", () => {
        expect(halfBatch(32)).toBe(16)
        expect(halfBatch(5)).toBe(3)
        expect(halfBatch(1)).toBe(1)
        expect(requestsFor(256, 32)).toBe(8)
        expect(requestsFor(60, 32)).toBe(2)
        expect(requestsFor(5, 1)).toBe(5)
    })
})
