/**
 * A record list bounded by count and by bytes: appending past either bound
 * drops the oldest records, which are counted. Records carry a `seq` that
 * grows with every append, so a list can be read a page at a time from any
 * point (`since` a record, or `before` one). Pure.
 */

/** A record's place in the emulator's numbering (1, 2, ... across lists). */
export interface Numbered {
    seq: number
}

/** Which records a page holds. */
export interface PageQuery {
    /** only records after this seq, oldest first from there */
    since?: number
    /** only records before this seq; without `since`, the newest of them */
    before?: number
    /** at most this many records */
    limit: number
    /** at most about this many bytes of answer (one record always fits) */
    maxBytes: number
}

/** One page of a list, oldest first. */
export interface Page<V> {
    records: V[]
    /** matching records kept before the first one of the page */
    earlier: boolean
    /** matching records kept after the last one of the page */
    later: boolean
}

export class RecordLog<T extends Numbered> {
    private items: T[] = []
    private sizes: number[] = []
    private held = 0
    /** records dropped (oldest first) to keep within the bounds */
    dropped = 0

    /**
     * `maxCount` records and `maxBytes` bytes at most, a record's bytes as
     * `sizeOf` gives them (a record larger than maxBytes is kept alone).
     */
    constructor(
        readonly maxCount: number,
        readonly maxBytes: number,
        private readonly sizeOf: (r: T) => number
    ) {
        if (!(Number.isInteger(maxCount) && maxCount >= 1))
            throw new RangeError("maxCount must be a whole number >= 1")
        if (!(Number.isInteger(maxBytes) && maxBytes >= 1))
            throw new RangeError("maxBytes must be a whole number >= 1")
    }

    /** The records kept, oldest first (do not modify). */
    get list(): readonly T[] {
        return this.items
    }

    /** Bytes the kept records hold, as `sizeOf` counts them. */
    get bytes() {
        return this.held
    }

    /** Appends `r` (its seq above every kept one's), dropping the oldest as needed. */
    push(r: T) {
        const size = this.sizeOf(r)
        this.items.push(r)
        this.sizes.push(size)
        this.held += size
        let drop = 0
        while (
            this.items.length - drop > 1 &&
            (this.items.length - drop > this.maxCount ||
                this.held > this.maxBytes)
        )
            this.held -= this.sizes[drop++]
        if (drop) {
            this.items.splice(0, drop)
            this.sizes.splice(0, drop)
            this.dropped += drop
        }
    }

    /** Forgets every record and the dropped count. */
    clear() {
        this.items = []
        this.sizes = []
        this.held = 0
        this.dropped = 0
    }

    /**
     * A page of the records that pass `keep`, each shown as `view` gives it
     * (`bytes` its size in the answer). With `since`: the oldest after it;
     * otherwise the newest (before `before` if given). Oldest first.
     */
    page<V>(
        q: PageQuery,
        view: (r: T) => { value: V; bytes: number },
        keep: (r: T) => boolean = () => true
    ): Page<V> {
        const lo = q.since === undefined ? 0 : this.firstAfter(q.since)
        const hi =
            q.before === undefined
                ? this.items.length
                : this.firstAfter(q.before - 1)
        const forward = q.since !== undefined
        const picked: V[] = []
        let bytes = 0
        let i = forward ? lo : hi - 1
        const step = forward ? 1 : -1
        for (; forward ? i < hi : i >= lo; i += step) {
            const r = this.items[i]
            if (!keep(r)) continue
            if (picked.length >= q.limit) break
            const v = view(r)
            if (picked.length && bytes + v.bytes > q.maxBytes) break
            bytes += v.bytes
            picked.push(v.value)
        }
        // i is the first index not taken in the walking direction
        const rest = (from: number, to: number) => {
            for (let j = from; j < to; j++) if (keep(this.items[j])) return true
            return false
        }
        if (forward)
            return {
                records: picked,
                earlier: rest(0, lo),
                later: rest(i, this.items.length),
            }
        picked.reverse()
        return {
            records: picked,
            earlier: rest(0, i + 1),
            later: rest(hi, this.items.length),
        }
    }

    /** Index of the first kept record whose seq is above `seq`. */
    private firstAfter(seq: number) {
        let lo = 0
        let hi = this.items.length
        while (lo < hi) {
            const mid = (lo + hi) >> 1
            if (this.items[mid].seq > seq) hi = mid
            else lo = mid + 1
        }
        return lo
    }
}
