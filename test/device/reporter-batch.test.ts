import { describe, test, expect } from "@devicescript/test"
import { PayloadFormat } from "../../src/config"
import { ReadingChannel, Reporter } from "../../src/reporter"
import { WallClock } from "../../src/time"
import { deviceTiming } from "../../src/timing"
import { paramError } from "./reporter-rig"

/**
 * A channel that records the seqs of each request and refuses (10001) a
 * body longer than `maxBytes` or holding a seq in `badSeqs`.
 */
class BatchChannel implements ReadingChannel {
    requests: string[] = []
    maxBytes = 131072
    badSeqs: number[] = []
    /** refuse everything, as for a topic the device may not publish to */
    refuseAll = false
    async ensureToken() {}
    async publish(topic: string, body: string | Buffer): Promise<string> {
        const text = typeof body === "string" ? body : body.toString()
        const size = typeof body === "string" ? body.byteLength : body.length
        const doc = JSON.parse(text)
        const seqs: number[] = []
        if (Array.isArray(doc))
            for (const r of doc as any[]) seqs.push(r.seq as number)
        else if (doc.method === "thing.event.property.history.post") {
            const n = (doc.params[0].properties as any[]).length
            for (let i = 0; i < n; i++) seqs.push(parseInt(doc.id) + i)
        } else if (doc.id !== undefined) seqs.push(parseInt(doc.id))
        else seqs.push(doc.seq as number)
        this.requests.push(`${topic} ${seqs.join(",")}`)
        let bad = size > this.maxBytes || this.refuseAll
        for (const s of seqs) if (this.badSeqs.indexOf(s) >= 0) bad = true
        if (bad) throw paramError()
        return "1"
    }
    async idle() {}
}

function syncedClock() {
    const c = new WallClock()
    c.syncFromDate("Thu, 26 Nov 2026 12:00:00 GMT")
    return c
}

function reporter(
    ch: BatchChannel,
    format: PayloadFormat,
    batchMax: number,
    clock: WallClock
) {
    return new Reporter(
        {
            topic:
                format === "json"
                    ? "/pk/dn/user/update"
                    : "/sys/pk/dn/thing/event/property/post",
            format,
            periodMs: 1000,
            bufferSize: 64,
            batchMax,
            productKey: "pk",
            deviceName: "dn",
        },
        ch,
        clock,
        async () => ({ temperature: 20.5, humidity: 41 }),
        deviceTiming
    )
}

async function drain(rep: Reporter) {
    for (let i = 0; i < 100 && rep.queue.size() > 0; i++)
        expect(await rep.sendOldest()).toBe(true)
    expect(rep.queue.size()).toBe(0)
}

describe("Reporter: backfill in batches", () => {
    test("json: up to batchMax readings a request, oldest first, on the topic", async () => {
        const ch = new BatchChannel()
        const rep = reporter(ch, "json", 4, syncedClock())
        for (let i = 0; i < 10; i++) await rep.takeReading()
        await drain(rep)
        expect(ch.requests.join(" | ")).toBe(
            "/pk/dn/user/update 1,2,3,4 | /pk/dn/user/update 5,6,7,8 | /pk/dn/user/update 9,10"
        )
    })
    test("alink: the history topic; the message id is the first seq", async () => {
        const ch = new BatchChannel()
        const rep = reporter(ch, "alink", 8, syncedClock())
        for (let i = 0; i < 9; i++) await rep.takeReading()
        await drain(rep)
        expect(ch.requests.join(" | ")).toBe(
            "/sys/pk/dn/thing/event/property/history/post 1,2,3,4,5,6,7,8 | /sys/pk/dn/thing/event/property/post 9"
        )
    })
    test("batchMax 1 sends one reading a request, as before", async () => {
        const ch = new BatchChannel()
        const rep = reporter(ch, "json", 1, syncedClock())
        for (let i = 0; i < 3; i++) await rep.takeReading()
        await drain(rep)
        expect(ch.requests.length).toBe(3)
        expect(ch.requests[0]).toBe("/pk/dn/user/update 1")
    })
    test("no batch before the clock is known (a history entry needs its time)", async () => {
        const ch = new BatchChannel()
        const rep = reporter(ch, "alink", 8, new WallClock())
        for (let i = 0; i < 3; i++) await rep.takeReading()
        expect(await rep.sendOldest()).toBe(true)
        expect(ch.requests[0]).toBe("/sys/pk/dn/thing/event/property/post 1")
    })
    test("a batch refused for its size is split in two, again if need be; nothing lost", async () => {
        const ch = new BatchChannel()
        const rep = reporter(ch, "json", 8, syncedClock())
        for (let i = 0; i < 8; i++) await rep.takeReading()
        // one reading is about 60 bytes: 8 do not fit in 300, 4 do
        ch.maxBytes = 300
        await drain(rep)
        expect(ch.requests.join(" | ")).toBe(
            "/pk/dn/user/update 1,2,3,4,5,6,7,8 | /pk/dn/user/update 1,2,3,4 | /pk/dn/user/update 5,6,7,8"
        )
        expect(rep.queue.dropped).toBe(0)
    })
    test("after the split readings are out, batches are whole again", async () => {
        const ch = new BatchChannel()
        const rep = reporter(ch, "json", 4, syncedClock())
        for (let i = 0; i < 4; i++) await rep.takeReading()
        ch.maxBytes = 150
        await drain(rep) // 4 refused, then 2 + 2
        ch.maxBytes = 131072
        for (let i = 0; i < 4; i++) await rep.takeReading()
        await drain(rep)
        expect(ch.requests.slice(-1)[0]).toBe("/pk/dn/user/update 5,6,7,8")
    })
    test("a bad reading is found by halving and dropped alone, as a single reading is", async () => {
        const ch = new BatchChannel()
        const rep = reporter(ch, "json", 4, syncedClock())
        for (let i = 0; i < 4; i++) await rep.takeReading()
        ch.badSeqs = [2]
        await drain(rep)
        expect(ch.requests.join(" | ")).toBe(
            [
                "/pk/dn/user/update 1,2,3,4", // refused: halves of 2
                "/pk/dn/user/update 1,2", // refused: singles
                "/pk/dn/user/update 1",
                "/pk/dn/user/update 2", // refused: held
                "/pk/dn/user/update 3", // accepted, so 2 was at fault
                "/pk/dn/user/update 4",
            ].join(" | ")
        )
    })
    test("a refused topic: halving down to one reading, then one reading a try", async () => {
        const ch = new BatchChannel()
        ch.refuseAll = true
        const rep = reporter(ch, "json", 4, syncedClock())
        for (let i = 0; i < 4; i++) await rep.takeReading()
        expect(await rep.sendOldest()).toBe(true) // 4 refused: halves
        expect(await rep.sendOldest()).toBe(true) // 2 refused: singles
        expect(await rep.sendOldest()).toBe(true) // 1 refused: held
        expect(await rep.sendOldest()).toBe(false) // 2 refused too: the topic
        expect(rep.topicRefused).toBe(true)
        for (let i = 0; i < 8; i++) await rep.takeReading()
        expect(await rep.sendOldest()).toBe(false) // single readings only
        expect(ch.requests.join(" | ")).toBe(
            "/pk/dn/user/update 1,2,3,4 | /pk/dn/user/update 1,2 | /pk/dn/user/update 1 | /pk/dn/user/update 2 | /pk/dn/user/update 1 | /pk/dn/user/update 2"
        )
        expect(rep.queue.size()).toBe(12)
        // the topic is granted: the backlog goes in batches again, nothing lost
        ch.refuseAll = false
        await drain(rep)
        expect(ch.requests.slice(6).join(" | ")).toBe(
            "/pk/dn/user/update 1 | /pk/dn/user/update 2 | /pk/dn/user/update 3 | /pk/dn/user/update 4 | /pk/dn/user/update 5,6,7,8 | /pk/dn/user/update 9,10,11,12"
        )
    })
})
