/**
 * Request-rate limiting: at most `limit` admitted requests per key in any
 * rolling window of `windowMs`. Refused requests do not count. Pure: the
 * caller passes the clock.
 */
export class SlidingWindowLimiter {
    private hits = new Map<string, number[]>()

    /** `limit` 0 (or less) means unlimited. */
    constructor(
        public limit: number,
        public windowMs = 1000
    ) {}

    /** Admits (and counts) one request for `key` at `now`, or refuses it. */
    tryAcquire(key: string, now: number): boolean {
        if (!(this.limit > 0)) return true
        const from = now - this.windowMs
        const list = (this.hits.get(key) ?? []).filter(t => t > from)
        if (list.length >= this.limit) {
            this.hits.set(key, list)
            return false
        }
        list.push(now)
        this.hits.set(key, list)
        return true
    }

    /** Un-counts the latest admitted request of `key` (it was refused later). */
    refund(key: string) {
        this.hits.get(key)?.pop()
    }

    /** Forgets every counted request. */
    reset() {
        this.hits.clear()
    }
}
