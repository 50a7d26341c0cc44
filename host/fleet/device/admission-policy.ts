/**
 * Who makes room when unauthenticated connections fill their table: the
 * admission policy alone, without sockets or timers (pending-connections.ts
 * applies it). A new connection is never refused. When its address already
 * holds its share, that address's own oldest connection makes room; when
 * the table is full, the oldest connection of the address that holds the
 * most does. So an address that floods the table only ever evicts itself,
 * a device that proves its key promptly from any address holding fewer
 * connections than the biggest holder is never crowded out, and many
 * devices behind one NAT share one address without being refused as one
 * peer. (HAProxy and nginx refuse beyond a fixed per-source limit instead:
 * that refuses a whole NAT.) Every operation is O(1): addresses are kept in
 * buckets by how many connections they hold.
 */

/** How many unauthenticated connections may be held. */
export interface AdmissionLimits {
    /** Connections held at once, in total. */
    capacity: number
    /** Connections one address holds before its own oldest makes room. */
    perAddress: number
}

/** Unauthenticated connections by address, in arrival order, and who goes first. */
export class AdmissionTable<T> {
    /** Each address's connections, oldest first. */
    private readonly byAddress = new Map<string, Map<string, T>>()
    private readonly addressOf = new Map<string, string>()
    /** Addresses by how many connections they hold. */
    private readonly buckets = new Map<number, Set<string>>()
    private most = 0

    constructor(readonly limits: AdmissionLimits) {
        if (!(limits.capacity >= 1 && limits.perAddress >= 1))
            throw new RangeError("admission limits must be at least 1")
    }

    /** Connections held now. */
    get size(): number {
        return this.addressOf.size
    }

    /** Connections `addr` holds now. */
    heldBy(addr: string): number {
        return this.byAddress.get(addr)?.size ?? 0
    }

    /**
     * Admits connection `key` from `addr`; returns the connections that
     * must be closed to make room for it (already removed from the table).
     */
    add(key: string, addr: string, value: T): T[] {
        const evicted: T[] = []
        if (this.heldBy(addr) >= this.limits.perAddress)
            evicted.push(this.evictOldest(addr))
        while (this.size >= this.limits.capacity)
            evicted.push(this.evictOldest(this.biggestHolder()))
        let mine = this.byAddress.get(addr)
        if (!mine) this.byAddress.set(addr, (mine = new Map()))
        this.rebucket(addr, mine.size, mine.size + 1)
        mine.set(key, value)
        this.addressOf.set(key, addr)
        return evicted
    }

    /** Takes connection `key` out (it proved its key, or closed); its value. */
    remove(key: string): T | undefined {
        const addr = this.addressOf.get(key)
        if (addr === undefined) return undefined
        const mine = this.byAddress.get(addr)!
        const value = mine.get(key)
        mine.delete(key)
        this.addressOf.delete(key)
        this.rebucket(addr, mine.size + 1, mine.size)
        if (mine.size === 0) this.byAddress.delete(addr)
        return value
    }

    /** Every connection held, and empties the table. */
    clear(): T[] {
        const all = [...this.byAddress.values()].flatMap(m => [...m.values()])
        this.byAddress.clear()
        this.addressOf.clear()
        this.buckets.clear()
        this.most = 0
        return all
    }

    /** One of the addresses that hold the most connections. */
    private biggestHolder(): string {
        return this.buckets.get(this.most)!.values().next().value!
    }

    private evictOldest(addr: string): T {
        const key = this.byAddress.get(addr)!.keys().next().value!
        return this.remove(key)!
    }

    /** Moves `addr` from the bucket of `from` connections to that of `to`. */
    private rebucket(addr: string, from: number, to: number) {
        if (from > 0) {
            const b = this.buckets.get(from)!
            b.delete(addr)
            if (b.size === 0) {
                this.buckets.delete(from)
                if (this.most === from) this.most = to
            }
        }
        if (to > 0) {
            let b = this.buckets.get(to)
            if (!b) this.buckets.set(to, (b = new Set()))
            b.add(addr)
            if (to > this.most) this.most = to
        }
    }
}
