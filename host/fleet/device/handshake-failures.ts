/**
 * Failed handshakes (a wrong key, garbage instead of the auth message, a
 * timeout) per device, kept in memory only: an unauthenticated peer must
 * not be able to change a device's record or grow the database. `fleet
 * status` shows the count of the last hour.
 */

/** The last hour of failed handshakes of one device. */
export interface HandshakeFailureSummary {
    count: number
    lastAt: number
    lastPeer: string
    lastReason: string
}

const WINDOW_MS = 3600_000
/** Timestamps kept per device; beyond this the count says "at least". */
const MAX_KEPT = 10_000

/** In-memory failed-handshake counts per device over a sliding hour. */
export class HandshakeFailures {
    private readonly byDevice = new Map<
        string,
        { times: number[]; lastPeer: string; lastReason: string }
    >()

    constructor(private readonly now: () => number = Date.now) {}

    record(deviceId: string, peer: string, reason: string): void {
        const t = this.now()
        let e = this.byDevice.get(deviceId)
        if (!e) {
            e = { times: [], lastPeer: "", lastReason: "" }
            this.byDevice.set(deviceId, e)
        }
        e.times.push(t)
        if (e.times.length > MAX_KEPT)
            e.times.splice(0, e.times.length - MAX_KEPT)
        e.lastPeer = peer
        e.lastReason = reason
    }

    /** Failures of `deviceId` in the last hour (undefined: none). */
    summary(deviceId: string): HandshakeFailureSummary | undefined {
        const e = this.byDevice.get(deviceId)
        if (!e) return undefined
        const since = this.now() - WINDOW_MS
        const first = e.times.findIndex(x => x >= since)
        if (first < 0) {
            this.byDevice.delete(deviceId)
            return undefined
        }
        if (first > 0) e.times.splice(0, first)
        return {
            count: e.times.length,
            lastAt: e.times[e.times.length - 1],
            lastPeer: e.lastPeer,
            lastReason: e.lastReason,
        }
    }

    /** Every device with failures in the last hour. */
    all(): Record<string, HandshakeFailureSummary> {
        const out: Record<string, HandshakeFailureSummary> = {}
        for (const id of [...this.byDevice.keys()]) {
            const s = this.summary(id)
            if (s) out[id] = s
        }
        return out
    }
}

/** Human form for `fleet status`, e.g. "3 failed handshakes in the last hour". */
export function handshakeFailureText(s?: HandshakeFailureSummary): string {
    if (!s) return ""
    return `${s.count} failed handshake${s.count === 1 ? "" : "s"} in the last hour (last: ${s.lastReason}, from ${s.lastPeer})`
}
