/**
 * Measures a backfill on the emulator's side: an outage while the firmware
 * keeps taking readings, then how many requests and bytes on the wire it
 * takes to deliver what was queued when the platform came back.
 */
import { readingMessages, readingsOf } from "../firmware.ts"
import type { Platform } from "../platform/index.ts"

export interface Drain {
    /** readings taken while the platform was down and delivered after */
    backlog: number
    /** publish requests (any answer) from the platform's return until the backlog was in */
    requests: number
    /** bytes on the wire of those requests per reading they carried */
    bytesPerReading: number
    /** readings per accepted message, in order */
    sizes: number[]
}

/**
 * Waits, polling every 100 ms, until `cond` holds; throws
 * `bench: timed out waiting for <what>` after `timeoutMs`.
 */
export async function until(
    cond: () => boolean,
    timeoutMs: number,
    what: string
) {
    const end = Date.now() + timeoutMs
    while (!cond()) {
        if (Date.now() > end)
            throw new Error(`bench: timed out waiting for ${what}`)
        await new Promise(r => setTimeout(r, 100))
    }
}

/**
 * Cuts the platform off for `outageMs` and waits until a reading taken
 * after it came back has been delivered; the backlog is every delivered
 * reading whose time is before the return (the device's clock follows the
 * platform's `Date`, to the second).
 */
export async function measureDrain(
    platform: Platform,
    outageMs: number
): Promise<Drain> {
    const fromMsg = readingMessages(platform).length
    const fromReq = platform.requests().length
    const back = Date.now() + outageMs
    platform.setFaults({ outageMs })
    const after = () =>
        readingMessages(platform)
            .slice(fromMsg)
            .some(m => readingsOf(m.body).some(r => (r.ts ?? 0) > back + 2000))
    await until(after, outageMs + 120_000, "the backlog after an outage")
    const msgs = readingMessages(platform)
        .slice(fromMsg)
        .map(m => readingsOf(m.body))
    let last = -1
    let backlog = 0
    msgs.forEach((rs, i) => {
        // messages after the outage carry only readings not delivered before
        const n = rs.filter(r => (r.ts ?? 0) <= back).length
        if (n) last = i
        backlog += n
    })
    // the i-th accepted reading request is the i-th message
    const reqs = platform
        .requests()
        .slice(fromReq)
        .filter(r => r.url.startsWith("/topic/") && !r.url.includes("/ota/"))
    let accepted = 0
    let end = reqs.length
    for (let i = 0; i < reqs.length; i++)
        if (reqs[i].code === 0 && accepted++ === last) {
            end = i + 1
            break
        }
    const drain = reqs.slice(0, end)
    const carried = msgs.slice(0, last + 1).reduce((n, rs) => n + rs.length, 0)
    const bytes = drain.reduce((n, r) => n + (r.wireBytes ?? 0), 0)
    return {
        backlog,
        requests: drain.length,
        bytesPerReading: carried ? bytes / carried : NaN,
        sizes: msgs.slice(0, last + 1).map(rs => rs.length),
    }
}
