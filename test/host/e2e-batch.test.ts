/**
 * End to end: after an outage the firmware backfills its queue in batches
 * (BATCH_MAX readings a request), in both formats, with every reading
 * delivered once and in order; a batch the platform refuses for its size is
 * split and nothing is lost.
 */
import { after, before, test } from "node:test"
import assert from "node:assert/strict"
import type { Platform } from "../../host/platform/index.ts"
import type { SimSession } from "../../host/sim/index.ts"
import { HISTORY_METHOD } from "../../host/platform/alink-history.ts"
import { readingMessages } from "../../host/firmware.ts"
import {
    deviceSettings,
    startDevice,
    startTestPlatform,
    waitUntil,
    deviceLines,
} from "./e2e-helpers.ts"

const BATCH_MAX = 32 // the default

let platform: Platform
let sim: SimSession

before(async () => {
    platform = await startTestPlatform()
    // room for twice the outage's readings: on a loaded machine the backlog
    // drains seconds after the outage ends, and a full queue would (rightly)
    // drop the oldest
    sim = await startDevice(
        platform,
        deviceSettings(platform, { BUFFER_SIZE: "128" })
    )
    await waitUntil(
        () => readingMessages(platform).length >= 2,
        60_000,
        "readings",
        deviceLines(sim)
    )
})
after(async () => {
    await sim?.stop()
    await platform?.close()
})

/** The seqs a message carries: one reading, a JSON array, or an Alink history post. */
export function seqsOf(body: Buffer): number[] {
    const doc = JSON.parse(body.toString("utf8"))
    if (Array.isArray(doc)) return doc.map((r: any) => r.seq)
    if (doc.method === HISTORY_METHOD)
        return doc.params[0].properties.map(
            (_: unknown, i: number) => +doc.id + i
        )
    if (doc.method) return [+doc.id]
    return [doc.seq]
}

/** Publish requests for readings (not the version report) since request index `from`. */
function readingRequests(p: Platform, from: number) {
    return p
        .requests()
        .slice(from)
        .filter(r => r.url.startsWith("/topic/") && !r.url.includes("/ota/"))
}

interface Drain {
    /** readings queued during the outage and backfilled */
    n: number
    /** publish requests from the platform's return until they were all in */
    requests: number
    /** every seq delivered since the outage began, in order */
    seqs: number[]
    /** readings per backfill message */
    sizes: number[]
    /** bytes on the wire of the drain's requests per reading they carried */
    bytesPerReading: number
}

/**
 * Starts an outage of `ms`, then waits until the backlog is delivered (the
 * first message after the outage that holds one reading: the queue was
 * down to the newest) and measures it.
 */
async function outageAndDrain(
    p: Platform,
    s: SimSession,
    ms: number
): Promise<Drain> {
    await waitUntil(
        () => readingMessages(p).length >= 1,
        60_000,
        "a reading",
        deviceLines(s)
    )
    const fromMsg = readingMessages(p).length
    const fromReq = p.requests().length
    const t0 = Date.now()
    p.setFaults({ outageMs: ms })
    const single = () =>
        readingMessages(p)
            .slice(fromMsg)
            .findIndex(m => seqsOf(m.body).length === 1)
    await waitUntil(
        () => single() >= 1,
        ms + 120_000,
        "the backlog delivered, then a single reading",
        deviceLines(s)
    )
    const msgs = readingMessages(p).slice(fromMsg)
    const k = single()
    console.log(
        `outage ${ms} ms: backlog delivered ${Date.now() - t0} ms after it began`
    )
    const backlog = msgs.slice(0, k)
    const sizes = backlog.map(m => seqsOf(m.body).length)
    const drain = readingRequests(p, fromReq).filter(r => r.seq < msgs[k].seq)
    const requests = drain.length - 1 // the last one is message k's
    const n = sizes.reduce((a, b) => a + b, 0)
    const wire = drain
        .slice(0, -1)
        .reduce((sum, r) => sum + (r.wireBytes ?? 0), 0)
    return {
        n,
        bytesPerReading: Math.round(wire / n),
        requests,
        seqs: msgs.flatMap(m => seqsOf(m.body)),
        sizes,
    }
}

function assertContiguous(seqs: number[], what: string) {
    seqs.forEach((s, i) =>
        assert.equal(
            s,
            seqs[0] + i,
            `${what}: contiguous, no duplicate: ${seqs}`
        )
    )
}

/**
 * Deploys settings for `p` with a 64-reading buffer in `format`, waits for
 * the device to report in it and for two readings more; returns the index
 * of the first of them in `readingMessages(p)`.
 */
async function deployFormat(p: Platform, format: "json" | "alink") {
    await sim.deploy(deviceSettings(p, { BUFFER_SIZE: "64", FORMAT: format }))
    await sim.waitForLine(new RegExp(`${format} every 1000 ms`), 60_000)
    const from = readingMessages(p).length
    await waitUntil(
        () => readingMessages(p).length >= from + 2,
        60_000,
        `${format} readings`,
        deviceLines(sim)
    )
    return from
}

test("json: a 60 s outage at a 1 s period drains in at most ceil(n / BATCH_MAX) + 1 requests, nothing lost or twice", async () => {
    const before = readingMessages(platform).flatMap(m => seqsOf(m.body))
    const d = await outageAndDrain(platform, sim, 60_000)
    console.log(
        `json drain: ${d.n} readings in ${d.requests} requests, batches ${d.sizes}, ${d.bytesPerReading} bytes a reading on the wire`
    )
    assert.ok(d.n >= 55, `about 60 readings were queued: ${d.n}`)
    assert.ok(
        d.requests <= Math.ceil(d.n / BATCH_MAX) + 1,
        `${d.requests} requests for ${d.n} readings`
    )
    assert.ok(
        d.sizes.every(n => n <= BATCH_MAX),
        `${d.sizes}`
    )
    assertContiguous([...before, ...d.seqs], "json")
    const batch = readingMessages(platform).find(
        m => seqsOf(m.body).length > 1
    )!
    const doc = JSON.parse(batch.body.toString())
    assert.ok(
        Array.isArray(doc) && typeof doc[0].ts === "number",
        "an array body with each reading's ts"
    )
    assert.ok(doc[1].ts > doc[0].ts, "each reading keeps its own time")
    assert.ok(
        sim.lines.some(l =>
            /^report: accepted messageId=\d+ \d+ readings seq \d+\.\.\d+/.test(
                l
            )
        ),
        "the device logs a batch by its readings"
    )
})

test("alink: the backlog goes as history posts the emulator checks strictly; seq is id + index", async () => {
    const from = await deployFormat(platform, "alink")
    const d = await outageAndDrain(platform, sim, 12_000)
    console.log(
        `alink drain: ${d.n} readings in ${d.requests} requests, batches ${d.sizes}, ${d.bytesPerReading} bytes a reading on the wire`
    )
    assert.ok(d.n >= 9, `readings queued: ${d.n}`)
    assert.ok(
        d.requests <= Math.ceil(d.n / BATCH_MAX) + 1,
        `${d.requests} for ${d.n}`
    )
    const boot = readingMessages(platform).slice(from)
    assertContiguous(
        boot.flatMap(m => seqsOf(m.body)),
        "alink"
    )
    const history = boot.filter(m =>
        m.topic.endsWith("/thing/event/property/history/post")
    )
    assert.ok(history.length >= 1, "history posts were accepted")
    const doc = JSON.parse(history[0].body.toString())
    assert.equal(doc.params[0].identity.deviceName, "e2e-device-1")
    const times = doc.params[0].properties.map((e: any) => e.temperature.time)
    assert.ok(times[1] > times[0], `each reading keeps its own time: ${times}`)
    assert.equal(
        platform.requests().filter(r => r.code === 10001).length,
        0,
        "the emulator refused nothing"
    )
})

test("a batch refused for its size is split in two and delivered; nothing lost", async () => {
    // a platform that takes at most 1200 bytes a body: a batch of 20 or
    // more readings (about 67 bytes each) is refused, half of it is not
    const small = await startTestPlatform({ maxBodyBytes: 1200 })
    try {
        const from = await deployFormat(small, "json")
        const fromLine = sim.lines.length
        const d = await outageAndDrain(small, sim, 25_000)
        console.log(
            `split drain: ${d.n} readings in ${d.requests} requests, batches ${d.sizes}, ${d.bytesPerReading} bytes a reading on the wire`
        )
        const refused = small.requests().filter(r => r.code === 10001)
        assert.ok(
            refused.length >= 1,
            "the platform refused a batch for its size"
        )
        assert.ok(
            sim.lines
                .slice(fromLine)
                .some(l =>
                    /^report: a batch of \d+ readings .* none dropped, sending them again \d+ at a time/.test(
                        l
                    )
                ),
            "the device said how many readings the refused batch held"
        )
        assert.ok(
            d.sizes.every(n => n < 20),
            `halves: ${d.sizes}`
        )
        assertContiguous(
            readingMessages(small)
                .slice(from)
                .flatMap(m => seqsOf(m.body)),
            "split"
        )
    } finally {
        await small.close()
    }
})
