import * as ds from "@devicescript/core"
import { describe, test, expect } from "@devicescript/test"
import { BatchBuilder } from "../../src/batch"
import { ReadingQueue, StoredReading } from "../../src/reading-queue"

function reading(seq: number): StoredReading {
    return {
        seq,
        takenAt: 1000 * seq + 0.5,
        values: { temperature: 21.53 + seq, humidity: -0.25 * seq },
    }
}

describe("ReadingQueue", () => {
    test("FIFO; the values come back exactly, names in order", () => {
        const q = new ReadingQueue(3)
        q.push(reading(1))
        q.push(reading(2))
        expect(q.size()).toBe(2)
        const r = q.peek()
        expect(r.seq).toBe(1)
        expect(r.takenAt).toBe(1000.5)
        expect(JSON.stringify(r.values)).toBe(
            '{"temperature":22.53,"humidity":-0.25}'
        )
        expect(q.at(1).seq).toBe(2)
        expect(q.at(2)).toBe(undefined)
        expect(q.shift().seq).toBe(1)
        expect(q.shift().seq).toBe(2)
        expect(q.shift()).toBe(undefined)
        expect(q.size()).toBe(0)
    })
    test("drops and counts the oldest when full, over many wraps", () => {
        const q = new ReadingQueue(4)
        let next = 1
        let oldest = 1
        for (let round = 0; round < 20; round++) {
            for (let i = 0; i < 3; i++) {
                const lost = q.push(reading(next++))
                if (lost) {
                    expect(lost.seq).toBe(oldest)
                    oldest++
                }
            }
            expect(q.shift().seq).toBe(oldest++)
            expect(q.peek().seq).toBe(oldest)
        }
        expect(q.dropped + 20).toBe(next - 1 - q.size())
    })
    test("a missing value stays missing; other readings are kept as they are", () => {
        const q = new ReadingQueue(4)
        q.push({ seq: 1, takenAt: 5, values: { humidity: 40 } })
        q.push({ seq: 2, takenAt: 6, values: { unit: "C", t: 1 } })
        q.push({
            seq: 3,
            takenAt: 7,
            values: { a: 1, b: 2, c: 3, d: 4, e: 5 },
        })
        expect(JSON.stringify(q.at(0).values)).toBe('{"humidity":40}')
        expect(JSON.stringify(q.at(1).values)).toBe('{"unit":"C","t":1}')
        expect(Object.keys(q.at(2).values).length).toBe(5)
        q.push(reading(4))
        q.push(reading(5)) // drops seq 1
        expect(q.shift().seq).toBe(2)
        expect(q.shift().values["e"]).toBe(5)
        expect(q.shift().seq).toBe(4)
        q.clear()
        expect(q.size()).toBe(0)
        expect(q.dropped).toBe(1)
    })
    test("a full queue of 256 leaves the heap room for an 8 KB batch", async () => {
        const q = new ReadingQueue(256)
        for (let i = 1; i <= 300; i++) {
            q.push(reading(i))
            if (i % 32 === 0) await ds.sleep(0) // the step budget
        }
        expect(q.size()).toBe(256)
        expect(q.dropped).toBe(44)
        const b = new BatchBuilder({
            format: "alink",
            dropped: 0,
            productKey: "a1BenchPrd1",
            deviceName: "bench-device-1",
        })
        for (let i = 0; i < 256; i++) {
            const r = q.at(i)
            if (
                !b.add({
                    seq: r.seq,
                    time: 1795660000000 + i,
                    values: r.values,
                })
            )
                break
            if ((i & 7) === 7) await ds.sleep(0)
        }
        const body = b.body()
        expect(body.length > 7000).toBe(true)
        // and the request buffer the client copies it into
        const request = Buffer.alloc(body.length + 400)
        request.blitAt(400, body, 0, body.length)
        expect(request.length > 7400).toBe(true)
    })
})
