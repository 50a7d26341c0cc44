/**
 * Log lines about hostile or broken peers, at most one per peer address per
 * interval (default one minute), so that a flood cannot flood the log; the
 * next line says how many were left out.
 */

/** A log that speaks at most once per peer per interval. */
export class PeerLog {
    private readonly seen = new Map<string, { at: number; dropped: number }>()
    private readonly intervalMs: number
    private readonly maxPeers: number

    constructor(
        private readonly log: (line: string) => void,
        o: { intervalMs?: number; maxPeers?: number; now?: () => number } = {}
    ) {
        this.intervalMs = o.intervalMs ?? 60_000
        this.maxPeers = o.maxPeers ?? 10_000
        this.now = o.now ?? Date.now
    }
    private readonly now: () => number

    /** Logs `line` about `peer` unless a line about it was logged within the interval. */
    note(peer: string, line: string): void {
        const t = this.now()
        const e = this.seen.get(peer)
        if (e && t - e.at < this.intervalMs) {
            e.dropped++
            return
        }
        const more = e?.dropped
            ? ` (${e.dropped} more from this peer not logged)`
            : ""
        this.seen.delete(peer)
        this.seen.set(peer, { at: t, dropped: 0 })
        this.prune(t)
        this.log(`${peer}: ${line}${more}`)
    }

    /** Forgets peers not heard of within the interval; bounds the table. */
    private prune(t: number) {
        for (const [peer, e] of this.seen) {
            if (this.seen.size <= this.maxPeers && t - e.at < this.intervalMs)
                break // insertion order: the rest are newer
            this.seen.delete(peer)
        }
    }
}
